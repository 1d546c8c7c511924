"""The command line: parsing and handlers only; nothing imports it but the entry point."""
