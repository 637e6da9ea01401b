"""What an operator sees of an agent: Prometheus metrics, health endpoints, JSON logs, trace export.

Nothing here changes what an agent does; the runtime calls in through ``AgentMetrics`` (a fresh,
private registry per agent by default) and ``AgentHealth``, and ``run_agent`` serves them
(``HealthServer`` serves the catalog processor's ``CatalogMetrics`` and ``CatalogHealth`` too).
"""
