"""The vault: the raw reasoning, apart from everything a client sees.

    traces.py             Vault: sealed traces, audited raw reads, deletion, retention, rotation
    sealing.py            TraceSealer: envelope encryption of a trace's chains at rest
    crypto.py             KeyRing (AES-256-GCM, rotating key ids), the key file, purpose keys
    encrypted_content.py  reasoning a client carries between turns, sealed to it
    audit.py              Access and AuditRecord: who read or deleted which trace

Every read of raw reasoning writes its audit record first.
"""
