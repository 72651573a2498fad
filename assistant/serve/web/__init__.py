"""The web page, mounted at "/" of the API's app: a module per tab, the HTML they render,
and the mount that keeps the page's framework to the routes the page uses."""
