"""specviz in a browser: the app served by textual-serve, one process per tab, none left behind."""
