"""The parts of the local Microsoft Graph responder; ``tests/graph_responder.py`` puts them together."""
