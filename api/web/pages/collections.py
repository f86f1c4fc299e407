"""Collections page: the tree, create, rename, move (cycles refused by the domain), delete."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import TxDep
from api.schemas_resources import Id, PathId
from api.web.deps import CsrfChecked, WebUser
from api.web.render import page, see_other
from domain import collections
from common.errors import KuraError, NotFound

router = APIRouter()


@dataclass
class Node:
    id: int
    name: str
    count: int
    path: str  # "Parent / Child", for the parent selects
    children: list[Node] = field(default_factory=list)

    def subtree(self) -> set[int]:
        """Its own id and every descendant's: the parents a move may not offer (the domain refuses them)."""
        return {self.id}.union(*(child.subtree() for child in self.children))


def build_tree(rows: list[dict[str, Any]]) -> list[Node]:
    """The flat list (sorted by name) as nested nodes, roots first; a parent the rows lack counts as a root."""
    by_parent: dict[int | None, list[dict[str, Any]]] = defaultdict(list)
    known = {row["id"] for row in rows}
    for row in rows:
        by_parent[row["parent_id"] if row["parent_id"] in known else None].append(row)

    def nodes(parent: int | None, prefix: str) -> list[Node]:
        out = []
        for row in by_parent.get(parent, []):
            path = f"{prefix}{row['name']}"
            out.append(Node(row["id"], row["name"], row["count"], path, nodes(row["id"], f"{path} / ")))
        return out

    return nodes(None, "")


def flatten(tree: list[Node]) -> list[Node]:
    """Every node in tree order, for the parent selects."""
    return [n for node in tree for n in (node, *flatten(node.children))]


async def _tree(request: Request, user: WebUser, tx: TxDep, *, error: str | None = None,
                status_code: int = 200) -> HTMLResponse:
    tree = build_tree(await tx.read(collections.list_collections, user_id=user.user_id))
    return page(request, "collections/tree.html", user=user, status_code=status_code, tree=tree,
                choices=flatten(tree), error=error)


async def _change(request: Request, user: WebUser, tx: TxDep, fn: Any, notice: str,
                  **kwargs: Any) -> Response:
    """Run one change for the user and say what it did (`notice` filled from the collection as the domain
    left it); a refusal (bad name, cycle) shows the tree again with the message, while another user's id
    stays the 404 page."""
    try:
        changed = await tx.write(fn, user_id=user.user_id, **kwargs)
    except NotFound:
        raise
    except KuraError as exc:
        return await _tree(request, user, tx, error=exc.message, status_code=exc.status)
    return see_other("/collections", notice=notice.format(**changed))


# The parent select: its empty option ("top level") arrives as "", which FastAPI reads as the default.
Parent = Annotated[Id | None, Form()]


@router.get("/collections")
async def collections_page(request: Request, user: WebUser, tx: TxDep) -> HTMLResponse:
    return await _tree(request, user, tx)


@router.post("/collections")
async def create_collection(request: Request, user: WebUser, tx: TxDep, _: CsrfChecked,
                            name: Annotated[str, Form()], parent_id: Parent = None) -> Response:
    return await _change(request, user, tx, collections.create_collection, "Collection “{name}” created.",
                         name=name, parent_id=parent_id)


@router.post("/collections/{collection_id:int}/rename")
async def rename_collection(request: Request, collection_id: PathId, user: WebUser, tx: TxDep, _: CsrfChecked,
                            name: Annotated[str, Form()]) -> Response:
    return await _change(request, user, tx, collections.update_collection, "Renamed to “{name}”.",
                         collection_id=collection_id, name=name)


@router.post("/collections/{collection_id:int}/move")
async def move_collection(request: Request, collection_id: PathId, user: WebUser, tx: TxDep, _: CsrfChecked,
                          parent_id: Parent = None) -> Response:
    return await _change(request, user, tx, collections.update_collection, "Moved “{name}”.",
                         collection_id=collection_id, parent_id=parent_id)


@router.post("/collections/{collection_id:int}/delete")
async def delete_collection(collection_id: PathId, user: WebUser, tx: TxDep, _: CsrfChecked) -> RedirectResponse:
    await tx.write(collections.delete_collection, user_id=user.user_id, collection_id=collection_id)
    return see_other("/collections", notice="Collection deleted; its bookmarks stay, without a collection, "
                                            "and its sub-collections moved up a level.")
