"""What users call: publish requests, follow outcomes. (The full SDK grows here.)"""
