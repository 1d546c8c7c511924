"""What a derived scenario takes from the file it ``extends``.

Tables merge key by key and arrays replace, so a derived file overrides only what changes.
That cannot remove anything, and a scenario of another parliament (another election, a
list that walked out) must lose some of its parent's factions or blocs. So the two tables
of named things take directives:

- ``[factions] replace = true``: the parent's factions are dropped wholesale; the derived
  file's own ``[factions.NAME]`` tables are the parliament.
- ``[factions] drop = ["NAME", ...]``: those of the parent's factions are removed (a name
  dropped and defined again in the same file is a new faction, not a merge).
- ``[blocs] replace = true`` / ``drop = ["NAME", ...]`` / ``[[blocs.add]]``: the same for
  blocs, which are an array (``[[blocs]]`` in a derived file already replaces them all).

A dropped faction leaves the membership lists it was inherited in (bloc members,
``incumbent.supported_by``, a patron's ``backs``) and any inherited ``[ranges]`` or
``[sweep]`` entry on its keys. A reference that cannot simply shrink (a bloc's leader,
``incumbent.faction``) is refused, naming the bloc or key to fix: the derived file must say
what replaces it. A name the derived file writes itself is checked like any reference.

These are pure functions over the parsed tables; ``sim.scenario`` reads the files and turns
an ``InheritanceError`` into a ``ScenarioError`` naming the derived file.
"""

from __future__ import annotations

from typing import Any

__all__ = ["InheritanceError", "inherit", "merge"]

#: Keys of a derived file's ``[factions]`` that are directives, not faction names (a faction
#: is a table, so a faction called "drop" is still read as one).
FACTION_DIRECTIVES = ("drop", "replace")
#: Keys of a derived file's ``[blocs]`` table (blocs themselves are an array).
BLOC_DIRECTIVES = ("add", "drop", "replace")
#: Inherited lists of faction names that shrink when a faction is dropped.
MEMBER_LISTS = ("incumbent.supported_by",)


class InheritanceError(Exception):
    """A directive of a derived file that cannot apply: the dotted key and what is wrong."""

    def __init__(self, key: str, message: str):
        self.key, self.message = key, message
        super().__init__(f"{key}: {message}")


# --------------------------------------------------------------------------- merging
def merge(base: dict, override: dict, origin: dict, file: str, prefix: str = "") -> dict:
    """Deep-merge ``override`` into ``base``; record which file set each dotted key."""
    out = dict(base)
    for key, value in override.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value, origin, file, dotted + ".")
        else:
            out[key] = value
            origin[dotted] = file
            if isinstance(value, dict):
                _mark(value, origin, file, dotted + ".")
    return out


def _mark(table: dict, origin: dict, file: str, prefix: str) -> None:
    for key, value in table.items():
        origin[f"{prefix}{key}"] = file
        if isinstance(value, dict):
            _mark(value, origin, file, f"{prefix}{key}.")


# --------------------------------------------------------------------------- directives
def _faction_directives(table: dict) -> dict[str, Any]:
    """The directives of a ``[factions]`` table (a faction is a table; these are not)."""
    return {k: v for k, v in table.items() if k in FACTION_DIRECTIVES and not isinstance(v, dict)}


def _names(value: Any, key: str, what: str, allowed: list[str], parent: str) -> list[str]:
    """A ``drop`` list: strings, each once, each naming one of the parent's ``allowed``."""
    shown = ", ".join(allowed) or "none"
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InheritanceError(key, f"expected an array of {what} names, got {value!r:.60}")
    seen: set[str] = set()
    for name in value:
        if name in seen:
            raise InheritanceError(key, f"{name!r} is listed twice")
        if name not in allowed:
            raise InheritanceError(
                key, f"no {what} named {name!r} in {parent} to drop; its {what}s: {shown}"
            )
        seen.add(name)
    return value


def _flag(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise InheritanceError(key, f"expected true or false, got {value!r:.60}")
    return value


def _no_directives(raw: dict) -> None:
    """A file that extends nothing has nothing to drop or replace."""
    factions, blocs = raw.get("factions"), raw.get("blocs")
    found = (
        [f"factions.{k}" for k in _faction_directives(factions)]
        if isinstance(factions, dict)
        else []
    )
    if isinstance(blocs, dict):
        found.append("blocs")
    if found:
        raise InheritanceError(
            found[0],
            "only a file that extends another can drop or replace what it inherits; "
            "this one extends none (for blocs, write an array: [[blocs]])",
        )


def _factions(base: dict, table: dict, parent: str) -> tuple[dict, set[str], str]:
    """Apply a ``[factions]`` table's directives to the parent's factions: (the parent's
    factions that remain, the names gone, the directive's key for messages)."""
    directives = _faction_directives(table)
    found = base.get("factions")
    inherited: dict = found if isinstance(found, dict) else {}
    if not directives:
        return inherited, set(), ""
    if "replace" in directives and "drop" in directives:
        raise InheritanceError(
            "factions.replace", "replace = true drops every inherited faction: give one of "
            "replace or drop, not both"
        )  # fmt: skip
    if "replace" in directives:
        replace = _flag(directives["replace"], "factions.replace")
        return ({}, set(inherited), "factions.replace") if replace else (inherited, set(), "")
    drop = _names(directives["drop"], "factions.drop", "faction", sorted(inherited), parent)
    kept = {k: v for k, v in inherited.items() if k not in drop}
    return kept, set(drop), "factions.drop"


def _blocs(base: dict, table: dict, parent: str) -> tuple[list, list]:
    """The blocs a derived file's ``[blocs]`` table leaves: the parent's, less those
    dropped (or none, with replace), and those added."""
    for key in table:
        if key not in BLOC_DIRECTIVES:
            raise InheritanceError(
                f"blocs.{key}",
                f"unknown key; allowed keys: {', '.join(BLOC_DIRECTIVES)} (a derived file's "
                "[blocs] table drops or adds blocs; [[blocs]] replaces them all)",
            )
    if "replace" in table and "drop" in table:
        raise InheritanceError(
            "blocs.replace", "replace = true drops every inherited bloc: give one of replace "
            "or drop, not both"
        )  # fmt: skip
    found = base.get("blocs")
    inherited: list = found if isinstance(found, list) else []
    named = [b.get("name") for b in inherited if isinstance(b, dict)]
    kept = list(inherited)
    if "replace" in table and _flag(table["replace"], "blocs.replace"):
        kept = []
    if "drop" in table:
        drop = _names(table["drop"], "blocs.drop", "bloc", [str(n) for n in named], parent)
        kept = [b for b in inherited if not (isinstance(b, dict) and b.get("name") in drop)]
    added = table.get("add", [])
    if not isinstance(added, list):
        raise InheritanceError("blocs.add", f"expected an array of blocs, got {added!r:.60}")
    return kept, added


# --------------------------------------------------------------------------- references
def _on_faction(key: str, names: set[str]) -> bool:
    """Whether a dotted key (``factions.NAME.armed``) is a key of one of ``names``."""
    steps = key.split(".")
    return len(steps) > 1 and steps[0] == "factions" and steps[1] in names


def _shrink_blocs(blocs: list, gone: set[str], directive: str) -> list:
    """Inherited blocs without the dropped factions; a bloc led by one is refused."""
    kept = []
    for bloc in blocs:
        if isinstance(bloc, dict):
            if bloc.get("leader") in gone:
                raise InheritanceError(
                    directive,
                    f"{bloc['leader']!r} is the leader of bloc {bloc.get('name')!r}: drop the "
                    "bloc too ([blocs] drop = [...]) or give it another leader",
                )
            if isinstance(bloc.get("members"), list):
                bloc = {**bloc, "members": [f for f in bloc["members"] if f not in gone]}
        kept.append(bloc)
    return kept


def _forget(merged: dict, origin: dict, gone: set[str], file: str, directive: str) -> dict:
    """Remove inherited references to the dropped factions ``gone``; refuse those that
    cannot simply shrink. References the derived file wrote itself are left for the
    scenario's own checks, which name them."""

    def inherited(key: str) -> bool:
        return origin.get(key, file) != file

    incumbent = merged.get("incumbent")
    if isinstance(incumbent, dict):
        incumbent = dict(incumbent)
        if incumbent.get("faction") in gone and inherited("incumbent.faction"):
            raise InheritanceError(
                directive,
                f"{incumbent['faction']!r} is the incumbent's faction: set incumbent.faction too",
            )
        if isinstance(incumbent.get("supported_by"), list) and inherited("incumbent.supported_by"):
            incumbent["supported_by"] = [f for f in incumbent["supported_by"] if f not in gone]
        merged["incumbent"] = incumbent
    patrons = merged.get("patrons")
    if isinstance(patrons, dict):
        merged["patrons"] = {
            name: {**p, "backs": [f for f in p["backs"] if f not in gone]}
            if isinstance(p, dict)
            and isinstance(p.get("backs"), list)
            and inherited(f"patrons.{name}.backs")
            else p
            for name, p in patrons.items()
        }
    blocs = merged.get("blocs")
    if isinstance(blocs, list) and inherited("blocs"):
        merged["blocs"] = _shrink_blocs(blocs, gone, directive)
    # experiments on a faction that is gone have nothing to vary
    for where in ("ranges", "sweep.parameters"):
        outer, _, inner = where.partition(".")
        holder = merged.get(outer)
        table = holder.get(inner) if inner and isinstance(holder, dict) else holder
        if not isinstance(table, dict):
            continue
        kept_entries = {
            k: v
            for k, v in table.items()
            if not (_on_faction(k, gone) and inherited(f"{where}.{k}"))
        }
        if isinstance(holder, dict) and inner:
            merged[outer] = {**holder, inner: kept_entries}
        else:
            merged[outer] = kept_entries
    return merged


# --------------------------------------------------------------------------- one file
def inherit(
    base: dict | None, raw: dict, origin: dict[str, str], file: str, parent: str = ""
) -> dict:
    """A file's table ``raw`` merged over its parent's resolved table ``base`` (None for a
    file that extends nothing), its directives applied; ``origin`` (dotted key -> the file
    that set it) is updated in place. Raises ``InheritanceError``."""
    if base is None:
        _no_directives(raw)
        return merge({}, raw, origin, file)
    raw, base = dict(raw), dict(base)
    gone: set[str] = set()
    directive = ""
    factions = raw.get("factions")
    if isinstance(factions, dict):
        base["factions"], gone, directive = _factions(base, factions, parent)
        own = {k: v for k, v in factions.items() if k not in _faction_directives(factions)}
        raw["factions"] = own
        for key in [k for k in origin if _on_faction(k, gone)]:
            del origin[key]  # the parent no longer set anything of theirs
        gone -= set(own)  # dropped and defined again: a new faction of that name
    if isinstance(raw.get("blocs"), dict):
        kept, added = _blocs(base, raw["blocs"], parent)
        raw["blocs"] = _shrink_blocs(kept, gone, directive) + added
    merged = merge(base, raw, origin, file)
    return _forget(merged, origin, gone, file, directive) if gone else merged
