"""What every builder of the application tier shares: the ApiService that parents each child,
the prefix of the children's logical names, and where the stack runs (components/context.py).

`AppContext` keeps its name for the application tier's builders."""

from components.context import ComponentContext as AppContext

__all__ = ["AppContext"]
