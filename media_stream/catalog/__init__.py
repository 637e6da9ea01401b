"""The asset catalog and quality feedback (docs/decisions/0005): a processor folds every
ImageReady and AudioReady into the compacted assets topic; a SQLite view answers catalog,
quality and consistency queries; ratings, rerenders and project deletion are published from here."""
