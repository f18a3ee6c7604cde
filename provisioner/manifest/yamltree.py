"""YAML text -> plain values that remember where each key and value was written.

The tree is built from the parser's event stream, not with yaml.compose: libyaml's composer
recurses in C (deep nesting crashes the interpreter), keeps the last of duplicate keys, and
expands aliases without limit. Here nesting is capped, duplicate keys are problems, and aliases
are shared, their expanded size counted (values and bytes of text) so a "billion laughs" file,
or one long text repeated through aliases, is refused: what the file holds once expanded may not
be bigger than a manifest file may be.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.resolver import Resolver

from provisioner.manifest.located import MDict, MList, Pos, Spot, key_in_path, key_phrase

MAX_DEPTH = 32
MAX_ALIAS_NODES = 100_000  # values reached through aliases, counted as if written out
MAX_EXPANDED_BYTES = 5 * 1024 * 1024  # text of keys and values, aliases written out (= MAX_BYTES)

_TAG = "tag:yaml.org,2002:"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Tree:
    """A parsed document: the root value (None for an empty file) and where it starts.

    `complete` is False when parsing stopped early (a syntax error): the root is then partial.
    """

    root: Any
    start: Pos
    empty: bool
    complete: bool


@dataclass(frozen=True)
class TreeProblem:
    line: int
    column: int
    path: tuple[str | int, ...]
    message: str


class _Stop(Exception):
    """Parsing of this file cannot go on; the problem is already recorded."""


_NO_KEY = object()
_SKIP = object()  # the next value belongs to a refused key: drop it
_KEY_COLLECTION = object()  # a list or mapping is being used as a key
_MERGE = object()


class _Frame:
    __slots__ = ("anchor", "key", "key_pos", "merges", "nbytes", "path", "size", "value")

    def __init__(self, value: MDict | MList, anchor: str | None, path: tuple[str | int, ...]):
        self.value = value
        self.anchor = anchor
        self.size = 1
        self.nbytes = 0  # bytes of text inside, aliases counted as written out
        self.key: object = _NO_KEY  # mappings: the key waiting for its value
        self.key_pos: Pos = (0, 0)
        self.merges: list[tuple[Any, Pos]] = []
        self.path = path


def _pos(mark: Any) -> Pos:
    return (mark.line + 1, mark.column + 1)


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


class _Builder:
    def __init__(self) -> None:
        self.problems: list[TreeProblem] = []
        self.stack: list[_Frame] = []
        # value, expanded size (values), expanded bytes of text, raw
        self.anchors: dict[str, tuple[Any, int, int, str | None]] = {}
        self.open_anchors: set[str] = set()
        self.alias_nodes = 0
        self.expanded_bytes = 0
        self.root: Any = None
        self.root_pos: Pos = (1, 1)
        self.has_root = False
        self.documents = 0
        self.resolver = Resolver()
        self.constructor = SafeConstructor()

    def problem(self, pos: Pos, path: tuple[str | int, ...], message: str) -> None:
        self.problems.append(TreeProblem(pos[0], pos[1], path, message))

    def path_here(self) -> tuple[str | int, ...]:
        if not self.stack:
            return ()
        top = self.stack[-1]
        if isinstance(top.value, MList):
            return (*top.path, len(top.value))
        if isinstance(top.key, str):
            return (*top.path, top.key)
        return top.path

    # -- events ---------------------------------------------------------------------------

    def feed(self, event: Any) -> None:
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)

    def on_document(self, event: Any) -> None:
        self.documents += 1
        if self.documents > 1:
            self.problem(
                _pos(event.start_mark),
                (),
                "a second YAML document starts here; a manifest file holds one document, "
                "so move it to a file of its own.",
            )
            raise _Stop

    def on_scalar(self, event: Any) -> None:
        pos = _pos(event.start_mark)
        nbytes = _utf8_len(event.value)
        self._grow(pos, nbytes)
        if self._expecting_key():
            self._add_key(event.value, pos, plain=event.implicit[0] and event.tag is None)
            self.stack[-1].nbytes += nbytes
            if event.anchor:
                self.anchors[event.anchor] = (event.value, 1, nbytes, event.value)
            return
        value = self._scalar(event, pos)
        if event.anchor:
            self.anchors[event.anchor] = (value, 1, nbytes, event.value)
        self._add_value(value, pos, 1, event.value, nbytes)

    def on_alias(self, event: Any) -> None:
        pos = _pos(event.start_mark)
        name = event.anchor
        if name in self.open_anchors:
            self.problem(
                pos,
                self.path_here(),
                f"the alias *{name} refers to a value that contains it; "
                "a value cannot include itself, so write it out.",
            )
            raise _Stop
        if name not in self.anchors:
            self.problem(
                pos,
                self.path_here(),
                f"the alias *{name} has no anchor &{name} before it; "
                "define the anchor first or write the value out.",
            )
            raise _Stop
        value, size, nbytes, raw = self.anchors[name]
        self._grow(pos, nbytes)
        self.alias_nodes += size
        if self.alias_nodes > MAX_ALIAS_NODES:
            self.problem(
                pos,
                self.path_here(),
                f"the YAML aliases in this file expand to more than {MAX_ALIAS_NODES:,} values; "
                "anchors and aliases are fine in moderation, so write the values out instead.",
            )
            raise _Stop
        if self._expecting_key():
            if isinstance(value, (MDict, MList)):
                self._bad_key(pos)
            else:
                self._add_key(raw if raw is not None else "", pos, plain=False)
                self.stack[-1].nbytes += nbytes
            return
        self._add_value(value, pos, size, raw, nbytes)

    def on_collection_start(self, event: Any) -> None:
        pos = _pos(event.start_mark)
        path = self.path_here()
        if len(self.stack) >= MAX_DEPTH:
            self.problem(
                pos,
                path,
                f"the document nests deeper than {MAX_DEPTH} levels; "
                "a manifest needs far fewer, so flatten it.",
            )
            raise _Stop
        if event.tag not in (None, "!", _TAG + "map", _TAG + "seq"):
            self._bad_tag(pos, path, event.tag)
        value: MDict | MList = (
            MDict(pos) if isinstance(event, yaml.MappingStartEvent) else MList(pos)
        )
        if self._expecting_key():
            self._bad_key(pos)
            self.stack[-1].key = _KEY_COLLECTION
            path = (*path, "?")
        if event.anchor:
            self.open_anchors.add(event.anchor)
        self.stack.append(_Frame(value, event.anchor, path))

    def on_collection_end(self, event: Any) -> None:
        frame = self.stack.pop()
        value = frame.value
        if isinstance(value, MDict):
            self._merge(frame)
        if frame.anchor:
            self.open_anchors.discard(frame.anchor)
            self.anchors[frame.anchor] = (value, frame.size, frame.nbytes, None)
        self._add_value(value, value.start, frame.size, None, frame.nbytes)

    # -- building -------------------------------------------------------------------------

    def _expecting_key(self) -> bool:
        if not self.stack:
            return False
        top = self.stack[-1]
        return isinstance(top.value, MDict) and top.key is _NO_KEY

    def _bad_key(self, pos: Pos) -> None:
        self.problem(
            pos,
            self.stack[-1].path,
            "a key must be plain text, not a list or a mapping; write a name before the colon.",
        )
        self.stack[-1].key = _SKIP

    def _bad_tag(self, pos: Pos, path: tuple[str | int, ...], tag: str) -> None:
        self.problem(
            pos,
            path,
            f"the YAML tag {_short_tag(tag)} is not supported in a manifest; remove it.",
        )

    def _add_key(self, key: str, pos: Pos, *, plain: bool) -> None:
        top = self.stack[-1]
        assert isinstance(top.value, MDict)
        if plain and key == "<<":
            top.key = _MERGE
            top.key_pos = pos
            return
        if key in top.value:
            first = top.value.spots[key].key
            self.problem(
                pos,
                (*top.path, key_in_path(key)),
                f"the {key_phrase(key)} appears twice in this mapping (also at line {first[0]}); "
                "YAML would silently keep only the last one, so remove or rename one of them.",
            )
            top.key = _SKIP
            return
        top.key = key
        top.key_pos = pos

    def _grow(self, pos: Pos, nbytes: int) -> None:
        self.expanded_bytes += nbytes
        if self.expanded_bytes > MAX_EXPANDED_BYTES:
            self.problem(
                pos,
                self.path_here(),
                "with its YAML aliases written out, this file holds more than "
                f"{MAX_EXPANDED_BYTES // 1024 // 1024} MB of text, the most a manifest may hold; "
                "write shorter values or split the file.",
            )
            raise _Stop

    def _add_value(self, value: Any, pos: Pos, size: int, raw: str | None, nbytes: int = 0) -> None:
        if not self.stack:
            self.root, self.root_pos, self.has_root = value, pos, True
            return
        top = self.stack[-1]
        top.size += size
        top.nbytes += nbytes
        if isinstance(top.value, MList):
            top.value.append(value)
            top.value.spots.append(Spot(pos, pos, raw))
            return
        key = top.key
        top.key = _NO_KEY
        if key is _KEY_COLLECTION:
            top.key = _SKIP
        elif key is _MERGE:
            top.merges.append((value, pos))
        elif isinstance(key, str):
            top.value[key] = value
            top.value.spots[key] = Spot(top.key_pos, pos, raw)

    def _merge(self, frame: _Frame) -> None:
        # YAML merge keys: keys written in the mapping win, then earlier sources over later.
        target = frame.value
        assert isinstance(target, MDict)
        for source, pos in frame.merges:
            sources = source if isinstance(source, MList) else [source]
            if not all(isinstance(s, MDict) for s in sources):
                self.problem(
                    pos,
                    (*frame.path, "<<"),
                    "a merge key (<<) must be followed by a mapping or a list of mappings, "
                    "usually an alias such as *defaults.",
                )
                continue
            for s in sources:
                for key, value in s.items():
                    if key not in target:
                        target[key] = value
                        target.spots[key] = s.spots[key]

    def _scalar(self, event: Any, pos: Pos) -> Any:
        tag = event.tag
        text = event.value
        if tag is None:
            if not event.implicit[0]:
                return text  # quoted
            tag = self.resolver.resolve(yaml.ScalarNode, text, (True, False))
            if tag in (_TAG + "merge", _TAG + "value"):
                return text  # a plain "<<" or "=" written as a value is just text
        elif tag == "!":
            return text
        if tag == _TAG + "str":
            return text
        if tag == _TAG + "null":
            return None
        if tag not in (_TAG + "int", _TAG + "float", _TAG + "bool", _TAG + "timestamp"):
            self._bad_tag(pos, self.path_here(), tag)
            return text
        try:
            return self.constructor.construct_object(yaml.ScalarNode(tag, text), deep=True)
        except (ConstructorError, ValueError, KeyError, OverflowError):
            self.problem(
                pos,
                self.path_here(),
                f"'{text}' cannot be read as {_short_tag(tag)}; fix the value or remove the tag.",
            )
            return text


_HANDLERS: dict[type, Callable[[_Builder, Any], None]] = {
    yaml.DocumentStartEvent: _Builder.on_document,
    yaml.ScalarEvent: _Builder.on_scalar,
    yaml.AliasEvent: _Builder.on_alias,
    yaml.MappingStartEvent: _Builder.on_collection_start,
    yaml.SequenceStartEvent: _Builder.on_collection_start,
    yaml.MappingEndEvent: _Builder.on_collection_end,
    yaml.SequenceEndEvent: _Builder.on_collection_end,
}


def parse(text: str) -> tuple[Tree, list[TreeProblem]]:
    """Parse one YAML document; problems never raise (they are returned with their place)."""
    builder = _Builder()
    complete = False
    try:
        _build(builder, text)
        complete = True
    except _Stop:
        pass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = _pos(mark) if mark is not None else (1, 1)
        lines = text.split("\n")
        source = lines[pos[0] - 1] if 0 < pos[0] <= len(lines) else ""
        builder.problems.append(
            TreeProblem(pos[0], pos[1], (), _syntax_message(exc, flow_reference="${" in source))
        )
    except yaml.reader.ReaderError as exc:
        before = text[: exc.position]
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        builder.problems.append(
            TreeProblem(
                line,
                column,
                (),
                f"the file contains the control character U+{_code_point(exc.character):04X}, "
                "which YAML does not allow; remove it.",
            )
        )
    except yaml.YAMLError as exc:  # any other parser complaint still becomes one sentence
        builder.problems.append(TreeProblem(1, 1, (), f"the file is not valid YAML ({exc})."))
    return (
        Tree(
            builder.root,
            builder.root_pos,
            empty=not builder.has_root or builder.root is None,
            complete=complete,
        ),
        builder.problems,
    )


# First characters with which a plain scalar may read as something other than text (a number,
# a boolean, null, a merge key...): any other plain scalar is text without asking the resolver.
_RESOLVED_FIRST = frozenset(Resolver.yaml_implicit_resolvers)
_FAST_TEXT = None not in _RESOLVED_FIRST


def _build(builder: _Builder, text: str) -> None:
    """Feed the builder every event of `text`.

    The usual event, a plain or quoted scalar without anchor or tag inside a mapping or list,
    is handled here inline (a manifest of thousands of entries has a hundred thousand of them);
    every other event, and every scalar that needs a problem reported, goes through the
    builder's handlers.
    """
    loader = _LOADER(text)
    try:
        get_event = loader.get_event
        stack = builder.stack
        feed = builder.feed
        scalar_event = yaml.ScalarEvent
        end_event = yaml.StreamEndEvent
        no_key = _NO_KEY
        fast_text = _FAST_TEXT
        resolved_first = _RESOLVED_FIRST
        mapping_start = yaml.MappingStartEvent
        sequence_start = yaml.SequenceStartEvent
        mapping_end = yaml.MappingEndEvent
        sequence_end = yaml.SequenceEndEvent
        max_depth = MAX_DEPTH
        max_bytes = MAX_EXPANDED_BYTES
        # Spot(...) through tuple.__new__: the named tuple's own __new__ is a Python call.
        new_tuple = tuple.__new__
        spot = Spot
        while True:
            event = get_event()
            kind = type(event)
            if kind is mapping_end or kind is sequence_end:
                # The usual end: no anchor to record, no merge key, a container to go into.
                if len(stack) < 2 or stack[-1].anchor is not None or stack[-1].merges:
                    feed(event)
                    continue
                frame = stack.pop()
                done = frame.value
                top = stack[-1]
                container = top.value
                if isinstance(container, MList):
                    container.append(done)
                    container.spots.append(new_tuple(spot, (done.start, done.start, None)))
                else:
                    key = top.key
                    if key.__class__ is not str:
                        builder._add_value(done, done.start, frame.size, None, frame.nbytes)
                        continue
                    top.key = no_key
                    container[key] = done
                    container.spots[key] = new_tuple(spot, (top.key_pos, done.start, None))
                top.size += frame.size
                top.nbytes += frame.nbytes
                continue
            if kind is mapping_start or kind is sequence_start:
                # The usual start: a value (not a key) inside a container, no anchor or tag.
                if (
                    not stack
                    or event.anchor is not None
                    or event.tag is not None
                    or len(stack) >= max_depth
                ):
                    feed(event)
                    continue
                top = stack[-1]
                container = top.value
                if isinstance(container, MList):
                    path = (*top.path, len(container))
                elif top.key is no_key:
                    feed(event)  # a mapping or list used as a key
                    continue
                elif top.key.__class__ is str:
                    path = (*top.path, top.key)
                else:
                    path = top.path
                mark = event.start_mark
                pos = (mark.line + 1, mark.column + 1)
                stack.append(
                    _Frame(MDict(pos) if kind is mapping_start else MList(pos), None, path)
                )
                continue
            if kind is not scalar_event or event.anchor is not None or not stack:
                if kind is end_event:
                    return
                feed(event)
                continue
            value_text = event.value
            mark = event.start_mark
            pos = (mark.line + 1, mark.column + 1)
            nbytes = len(value_text) if value_text.isascii() else _utf8_len(value_text)
            grown = builder.expanded_bytes + nbytes
            if grown > max_bytes:
                builder._grow(pos, nbytes)  # reports the problem and stops
            builder.expanded_bytes = grown
            top = stack[-1]
            container = top.value
            tag = event.tag
            if isinstance(container, MDict) and top.key is no_key:
                plain = event.implicit[0] and tag is None
                if value_text in container or (plain and value_text == "<<"):
                    builder._add_key(value_text, pos, plain=plain)
                else:
                    top.key = value_text
                    top.key_pos = pos
                top.nbytes += nbytes
                continue
            if tag is None and (
                not event.implicit[0]  # quoted: always text
                or (fast_text and value_text and value_text[0] not in resolved_first)
            ):
                value: Any = value_text
            else:
                value = builder._scalar(event, pos)
            if isinstance(container, MDict):
                key = top.key
                if key.__class__ is not str:
                    builder._add_value(value, pos, 1, value_text, nbytes)
                    continue
                top.key = no_key
                container[key] = value
                container.spots[key] = new_tuple(spot, (top.key_pos, pos, value_text))
            else:
                container.append(value)
                container.spots.append(new_tuple(spot, (pos, pos, value_text)))
            top.size += 1
            top.nbytes += nbytes
    finally:
        loader.dispose()


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _syntax_message(exc: yaml.MarkedYAMLError, *, flow_reference: bool = False) -> str:
    problem = (exc.problem or "").strip()
    context = (exc.context or "").strip()
    if context and exc.context_mark is not None and exc.context_mark != exc.problem_mark:
        context = f"{context} at line {exc.context_mark.line + 1}"
    detail = f"{problem} ({context})" if context and problem else problem or context
    if flow_reference and "flow" in context:
        # The "}" of ${env:NAME} closes a {...} mapping: the commonest way to meet this error.
        return (
            f"this is not valid YAML: {detail}; inside {{...}} or [...] a value holding "
            "${env:NAME} must be quoted: '${env:NAME}'."
        )
    return f"this is not valid YAML: {detail}; fix the syntax here."


def _code_point(character: object) -> int:
    # libyaml reports the offending character as a number, the pure-Python reader as text.
    return ord(character) if isinstance(character, str) else int(character)  # type: ignore[call-overload]
