"""Public records: case numbers (diarienummer), secrecy markings under OSL,
conflicts of interest (jäv), the registrar's copies and the records export.

Members are the group and see everything. Every audience outside it (the
council, the union group, the intranet, the registrar's copy, guests, a
records export) sees what :func:`daemon.records.disclosure.outside` lets it
see, and nothing else.
"""
