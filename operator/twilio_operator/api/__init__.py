"""The operator's vocabulary, free of I/O: the custom resources' models (the CRD source), conditions and
their reasons, errors, derived names, credentials parsing and the region table.

Nothing in this package imports a client library; every other layer may import it.
"""
