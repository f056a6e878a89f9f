"""Archive packages (e-arkiv): one E-ARK SIP (CSIP/SIP 2.1, as FGS Paketstruktur 2.0
adopts it) per meeting, made by `klg archive` and, with ``[archive] folder``, after
the signed minutes are distributed. ``contents`` reads what goes in, ``mets`` writes
the XML, ``package`` puts the folder together, ``workflow`` is the step."""
