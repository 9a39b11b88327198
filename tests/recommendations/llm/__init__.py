"""The GigaChat source against a fake GigaChat, driven by the real SDK."""
