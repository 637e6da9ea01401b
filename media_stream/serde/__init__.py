"""Avro serde: the schema store, both wire framings and the compatibility guard.

Use :class:`media_stream.serde.codec.EventCodec`; the other modules are its parts:
``schema_store`` (load ``.avsc``, canonical form, fingerprints), ``single_object`` and
``registry`` (the two framings), ``validation`` (dict against schema), ``compatibility`` and
``cli`` (``media-stream schemas check|list``). See docs/decisions/0002-avro-wire-format.md.
"""
