"""Browse Unity Catalog: catalogs, schemas, registered models, versions with their aliases.

Lists are lazy: pages are fetched only as you iterate (``next_page_token`` until it is
absent; empty pages that still carry a token are followed, as the contract allows). A name
filter is applied while the pages stream in, so ``list_models(ws, "main.default", "llama",
limit=20)`` on a schema of 10,000 models costs one request and a pass over plain strings.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import quote

from .wire import CatalogInfo, ModelAlias, ModelVersion, RegisteredModel, SchemaInfo, to_row

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .workspace import Workspace

T = TypeVar("T")

__all__ = [
    "Listing",
    "name_matcher",
    "list_catalogs",
    "list_schemas",
    "list_models",
    "get_model",
    "list_versions",
    "get_version",
    "get_version_by_alias",
]

UC = "/api/2.1/unity-catalog"


def name_matcher(pattern: str | None) -> Callable[[str], bool]:
    """Case-insensitive test for a user's filter: a glob if it has ``*?[``, else a substring."""
    if not pattern:
        return lambda name: True
    pattern = pattern.lower()
    if any(ch in pattern for ch in "*?["):
        regex = re.compile(fnmatch.translate(pattern))
        return lambda name: regex.match(name.lower()) is not None
    return lambda name: pattern in name.lower()


class Listing(Generic[T]):
    """A lazily paginated list: iterate it, index it, or turn it into a DataFrame.

    Every listing of the API is one (catalogs, schemas, models, versions, endpoints): a
    plain loop reads items, ``.to_pandas()`` gives the frame. Items fetched once are kept,
    so iterating twice (or ``len`` after a loop) does not refetch.
    """

    def __init__(
        self,
        pages: Iterator[list[T]],
        *,
        what: str,
        keep: Callable[[T], bool] | None = None,
        limit: int | None = None,
        columns: list[str] | None = None,
    ) -> None:
        self._pages = pages
        self._columns = columns
        self._keep = keep or (lambda item: True)
        self._limit = limit
        self._items: list[T] = []
        self._done = False
        self.what = what

    def _fetch_page(self) -> bool:
        """Pull one more page into the cache; False once everything is fetched."""
        if self._done:
            return False
        page = next(self._pages, None)
        if page is None:
            self._done = True
            return False
        for item in page:
            if self._limit is not None and len(self._items) >= self._limit:
                self._done = True
                return True
            if self._keep(item):
                self._items.append(item)
        if self._limit is not None and len(self._items) >= self._limit:
            self._done = True
        return True

    def __iter__(self) -> Iterator[T]:
        index = 0
        while True:
            while index < len(self._items):
                yield self._items[index]
                index += 1
            if not self._fetch_page():
                return

    def all(self) -> list[T]:
        """Fetch every page and return the items."""
        return [item for item in self]

    def head(self, n: int = 10) -> list[T]:
        """The first ``n`` items, fetching only the pages needed."""
        out: list[T] = []
        for item in self:
            if len(out) >= n:
                break
            out.append(item)
        return out

    def count(self) -> int:
        """How many items in total (fetches every page). Not ``__len__``: ``list()`` would
        call it as a length hint and fetch everything twice."""
        return len(self.all())

    def __getitem__(self, index: int) -> T:
        if index < 0:
            return self.all()[index]
        for i, item in enumerate(self):
            if i == index:
                return item
        raise IndexError(f"{self.what} listing has only {len(self._items)} items")

    def names(self) -> list[str]:
        """Full names (or names) of every item."""
        return [str(getattr(i, "full_name", None) or getattr(i, "name", i)) for i in self]

    def to_pandas(self) -> pd.DataFrame:
        """One row per item, with the wire field names as columns."""
        import pandas as pd

        return pd.DataFrame([_row(item) for item in self], columns=self._columns)

    def __repr__(self) -> str:
        more = "" if self._done else ", more not fetched yet"
        return f"<Listing of {self.what}: {len(self._items)} fetched{more}>"


def _row(item: Any) -> dict[str, Any]:
    if hasattr(item, "to_row"):  # a type that knows its own row (serving endpoints)
        return dict(item.to_row())
    row = to_row(item)
    if "aliases" in row:
        row["aliases"] = [a.alias_name for a in item.aliases]
    return row


def _paginate(
    ws: Workspace, path: str, key: str, params: dict[str, Any], build: Callable[[dict], T]
) -> Iterator[list[T]]:
    """Yield one list per page until ``next_page_token`` is absent or empty."""
    params = dict(params)
    while True:
        body = ws.call("GET", path, params=params)
        yield [build(item) for item in body.get(key) or []]
        token = body.get("next_page_token")
        if not token:
            return
        params["page_token"] = token


def _keep_by(attr: str, pattern: str | None) -> Callable[[Any], bool]:
    match = name_matcher(pattern)
    return lambda item: match(str(getattr(item, attr) or ""))


def list_catalogs(
    ws: Workspace, name_filter: str | None = None, *, limit: int | None = None
) -> Listing[CatalogInfo]:
    """Catalogs you can see, optionally filtered by name (substring or glob)."""
    pages = _paginate(ws, f"{UC}/catalogs", "catalogs", {"max_results": 0},
                      CatalogInfo.from_wire)
    return Listing(pages, what="catalogs", keep=_keep_by("name", name_filter), limit=limit)


def list_schemas(
    ws: Workspace, catalog: str, name_filter: str | None = None, *, limit: int | None = None
) -> Listing[SchemaInfo]:
    """Schemas of ``catalog``, optionally filtered by name."""
    pages = _paginate(ws, f"{UC}/schemas", "schemas",
                      {"catalog_name": catalog, "max_results": 0}, SchemaInfo.from_wire)
    return Listing(pages, what=f"schemas in {catalog}", keep=_keep_by("name", name_filter),
                   limit=limit)


def _split_schema(catalog: str | None, schema: str | None) -> tuple[str | None, str | None]:
    """Accept ``("main", "default")`` or the shorthand ``("main.default", None)``."""
    if catalog and schema is None and "." in catalog:
        catalog, schema = catalog.split(".", 1)
    if (catalog is None) != (schema is None):
        raise ValueError("Give both catalog and schema (or 'catalog.schema'), or neither.")
    return catalog, schema


def list_models(
    ws: Workspace,
    catalog: str | None = None,
    schema: str | None = None,
    name_filter: str | None = None,
    *,
    limit: int | None = None,
    page_size: int | None = None,
) -> Listing[RegisteredModel]:
    """Registered models in ``catalog.schema`` (or everywhere visible), filtered by name.

    ``page_size`` is left to the server by default: it returns up to 10,000 models per page
    for one schema, which keeps a filtered search of a big schema to a single request.
    """
    catalog, schema = _split_schema(catalog, schema)
    params = {"catalog_name": catalog, "schema_name": schema, "max_results": page_size}
    pages = _paginate(ws, f"{UC}/models", "registered_models", params,
                      RegisteredModel.from_wire)
    where = f"models in {catalog}.{schema}" if catalog else "models"
    return Listing(pages, what=where, keep=_keep_by("name", name_filter), limit=limit)


def _model_path(full_name: str) -> str:
    """Dots stay as they are in UC paths; other unsafe characters are escaped."""
    return f"{UC}/models/{quote(full_name, safe='.-_')}"


def get_model(ws: Workspace, full_name: str) -> RegisteredModel:
    """One registered model with its aliases."""
    body = ws.call("GET", _model_path(full_name), params={"include_aliases": True})
    return RegisteredModel.from_wire(body)


def _aliases_by_version(model: RegisteredModel) -> dict[int, tuple[ModelAlias, ...]]:
    out: dict[int, list[ModelAlias]] = {}
    for alias in model.aliases:
        out.setdefault(alias.version_num, []).append(alias)
    return {v: tuple(a) for v, a in out.items()}


def list_versions(
    ws: Workspace, full_name: str, *, with_aliases: bool = True, limit: int | None = None
) -> Listing[ModelVersion]:
    """Versions of a model, newest first within each page, each with its aliases.

    The versions list never carries aliases on the wire, so with ``with_aliases`` one extra
    call fetches the model's aliases and attaches them to the matching versions.
    """
    by_version = _aliases_by_version(get_model(ws, full_name)) if with_aliases else {}

    def build(item: dict[str, Any]) -> ModelVersion:
        version = int(item["version"])
        return ModelVersion.from_wire(item, aliases=by_version.get(version, ()))

    pages = _paginate(ws, f"{_model_path(full_name)}/versions", "model_versions", {}, build)
    sorted_pages = (sorted(page, key=lambda v: -v.version) for page in pages)
    return Listing(sorted_pages, what=f"versions of {full_name}", limit=limit)


def get_version(ws: Workspace, full_name: str, version: int | str) -> ModelVersion:
    """One model version (with aliases)."""
    body = ws.call("GET", f"{_model_path(full_name)}/versions/{int(version)}",
                   params={"include_aliases": True})
    return ModelVersion.from_wire(body)


def get_version_by_alias(ws: Workspace, full_name: str, alias: str) -> ModelVersion:
    """The version an alias (e.g. ``champion``) points to."""
    body = ws.call("GET", f"{_model_path(full_name)}/aliases/{quote(alias, safe='')}",
                   params={"include_aliases": True})
    return ModelVersion.from_wire(body)
