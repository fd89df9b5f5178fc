"""HTML forms generated from JSON schemas (pydantic's), and the flat form posted back turned
into the nested data the domain validates.

A field's name is its dotted path in the data (``data.needs.0.area``), which is also what a
validation problem names (:class:`tiltas.errors.FieldProblem`), so each problem is shown next to
its field. Lists of objects get one fieldset per row with "add" and "remove" buttons that post
the form back (no JavaScript needed); lists of strings are a text area, one line each.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from api.web import labels
from templates.questionnaire import ITEMS_BY_ID, ProblemKind, check_completeness
from tiltas.errors import FieldProblem

Options = list[tuple[str, str]]

_BLANK: Any = object()


@dataclass
class FormField:
    name: str
    """Dotted path in the data, e.g. ``data.needs.0.area``."""
    label: str
    widget: str
    """text, textarea, lines, date, time, datetime, number, select, checkboxes, group, list,
    questionnaire."""
    required: bool = False
    value: Any = ""
    options: Options = field(default_factory=list)
    hint: str = ""
    errors: list[str] = field(default_factory=list)
    children: list[FormField] = field(default_factory=list)
    input_type: str = "text"
    item_label: str = ""
    min_items: int = 0
    max_length: int | None = None

    @property
    def id(self) -> str:
        return "f-" + self.name.replace(".", "-")

    def walk(self) -> list[FormField]:
        return [self, *(f for child in self.children for f in child.walk())]


@dataclass(frozen=True)
class FormSpec:
    """How to draw one schema: labels, options and widgets by path pattern (indices as ``*``),
    properties left out, and whether the schema's descriptions are Lithuanian labels."""

    schema: dict[str, Any]
    prefix: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Options] = field(default_factory=dict)
    widgets: Mapping[str, str] = field(default_factory=dict)
    skip: frozenset[str] = frozenset()
    use_descriptions: bool = True
    order: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Properties of a group (by path pattern) shown first, in this order."""
    initial_rows: bool = True
    """A new form shows one empty row of every list (else only the rows a list requires)."""

    def properties(self, node: dict[str, Any], path: str) -> list[tuple[str, dict[str, Any]]]:
        properties: dict[str, dict[str, Any]] = node.get("properties", {})
        first = [n for n in self.order.get(pattern_of(path) if path else "", ()) if n in properties]
        return [(n, properties[n]) for n in [*first, *(n for n in properties if n not in first)]]

    @property
    def defs(self) -> dict[str, Any]:
        defs: dict[str, Any] = self.schema.get("$defs", {})
        return defs


def pattern_of(path: str) -> str:
    return ".".join("*" if part.isdigit() else part for part in path.split("."))


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The node with ``$ref`` followed and ``X | None`` unwrapped; and whether None is allowed."""
    nullable = False
    outer = {k: v for k, v in node.items() if k in ("description", "default", "title")}
    while True:
        if "$ref" in node:
            node = {**defs[node["$ref"].rsplit("/", 1)[1]], **outer}
            continue
        if "anyOf" in node:
            choices = [c for c in node["anyOf"] if c.get("type") != "null"]
            nullable = nullable or len(choices) < len(node["anyOf"])
            if len(choices) == 1:
                node = {**choices[0], **outer}
                continue
        if "allOf" in node and len(node["allOf"]) == 1:
            node = {**node["allOf"][0], **outer}
            continue
        return node, nullable


def _widget(node: dict[str, Any], defs: dict[str, Any]) -> str:
    if "enum" in node:
        return "select"
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        return "group"
    if kind == "array":
        items, _ = _resolve(node.get("items", {}), defs)
        if "enum" in items:
            return "checkboxes"
        return "list" if _widget(items, defs) == "group" else "lines"
    if kind == "string":
        fmt = node.get("format")
        if fmt == "date":
            return "date"
        if fmt == "time":
            return "time"
        if fmt == "date-time":
            return "datetime"
        return "textarea" if node.get("maxLength", 0) > 500 else "text"
    if kind in ("integer", "number"):
        return "number"
    if kind == "boolean":
        return "select"
    return "text"


_ONE_LINE = frozenset({"address", "assessor_position", "provider", "responsible"})
"""Text fields long enough for a text area by schema that are one line in practice."""


def _split_description(description: str) -> tuple[str, str]:
    # "Sritis: gyvenamoji vieta, ..." → label "Sritis", hint the rest.
    head, sep, tail = description.partition(": ")
    if sep and "(" not in head and len(head) <= 40:
        return head, tail
    return description, ""


class FormBuilder:
    def __init__(
        self,
        spec: FormSpec,
        values: Mapping[str, Any] | None,
        errors: Mapping[str, list[str]],
        *,
        initial: bool,
    ) -> None:
        self.spec = spec
        self.values = values or {}
        self.errors = errors
        self.initial = initial

    def build(self) -> list[FormField]:
        schema, _ = _resolve(self.spec.schema, self.spec.defs)
        return self._properties(schema, self.spec.prefix, self.values, top=True)

    def _properties(
        self, node: dict[str, Any], path: str, values: Mapping[str, Any], *, top: bool = False
    ) -> list[FormField]:
        required = set(node.get("required", []))
        fields = []
        for name, child in self.spec.properties(node, path):
            if top and name in self.spec.skip:
                continue
            fields.append(
                self._field(name, child, _join(path, name), values.get(name), name in required)
            )
        return fields

    def _label(self, name: str, node: dict[str, Any], path: str) -> tuple[str, str]:
        pattern = pattern_of(path)
        if pattern in self.spec.labels:
            return self.spec.labels[pattern], ""
        description = node.get("description")
        if self.spec.use_descriptions and description:
            return _split_description(description)
        return labels.FIELD.get(name, node.get("title", name)), ""

    def _field(
        self, name: str, raw: dict[str, Any], path: str, value: Any, required: bool
    ) -> FormField:
        node, nullable = _resolve(raw, self.spec.defs)
        required = required and not nullable and "default" not in raw
        pattern = pattern_of(path)
        widget = self.spec.widgets.get(pattern) or _widget(node, self.spec.defs)
        if widget == "textarea" and name in _ONE_LINE:
            widget = "text"
        label, hint = self._label(name, raw if "description" in raw else node, path)
        if value is None and self.initial and raw.get("default") is not None:
            value = raw["default"]
        form_field = FormField(
            name=path,
            label=label,
            widget=widget,
            required=required,
            hint=hint,
            errors=list(self.errors.get(path, [])),
            max_length=node.get("maxLength"),
        )
        if widget == "group":
            form_field.children = self._properties(
                node, path, value if isinstance(value, Mapping) else {}
            )
        elif widget == "list":
            items_node, _ = _resolve(node.get("items", {}), self.spec.defs)
            rows = list(value) if isinstance(value, list) else []
            form_field.min_items = int(node.get("minItems", 0))
            first_row = 1 if self.initial and self.spec.initial_rows else 0
            count = max(len(rows), form_field.min_items, first_row)
            rows += [{}] * (count - len(rows))
            form_field.item_label = labels.ITEM.get(name, "Eilutė")
            for index, row in enumerate(rows):
                item_path = f"{path}.{index}"
                group = FormField(
                    name=item_path,
                    label=f"{form_field.item_label} {index + 1}",
                    widget="group",
                    errors=list(self.errors.get(item_path, [])),
                )
                group.children = self._properties(
                    items_node, item_path, row if isinstance(row, Mapping) else {}
                )
                form_field.children.append(group)
        elif widget == "lines":
            form_field.value = "\n".join(str(v) for v in value) if isinstance(value, list) else ""
            form_field.hint = form_field.hint or "Po vieną eilutėje."
        elif widget == "checkboxes":
            form_field.value = [str(v) for v in value] if isinstance(value, list) else []
            form_field.options = self._options(pattern, node.get("items", {}))
        elif widget == "questionnaire":
            form_field.value = [str(v) for v in value] if isinstance(value, list) else []
        else:
            form_field.value = _display(value)
            if widget == "select":
                form_field.options = self._options(pattern, node)
            elif widget == "number":
                form_field.input_type = "number"
            elif name == "email":
                form_field.input_type = "email"
            elif name == "phone":
                form_field.input_type = "tel"
        return form_field

    def _options(self, pattern: str, node: dict[str, Any]) -> Options:
        if pattern in self.spec.options:
            return list(self.spec.options[pattern])
        node, _ = _resolve(node, self.spec.defs)
        if node.get("type") == "boolean":
            return [("true", "Taip"), ("false", "Ne")]
        words = labels.ENUM_OPTIONS.get(node.get("title", ""), {})
        return [(str(v), words.get(str(v), str(v))) for v in node.get("enum", [])]


def _display(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def build_form(
    spec: FormSpec,
    values: Mapping[str, Any] | None,
    errors: Mapping[str, list[str]] | None = None,
    *,
    initial: bool = False,
) -> list[FormField]:
    return FormBuilder(spec, values, errors or {}, initial=initial).build()


# ---------------------------------------------------------------- parsing the posted form


class FormData:
    """The posted fields as ``name → [values]`` (a name may repeat: check boxes)."""

    def __init__(self, items: Sequence[tuple[str, str]]) -> None:
        self.values: dict[str, list[str]] = {}
        for name, value in items:
            self.values.setdefault(name, []).append(value)

    def get(self, name: str) -> str:
        found = self.values.get(name)
        return found[0] if found else ""

    def getlist(self, name: str) -> list[str]:
        return self.values.get(name, [])

    def names_under(self, path: str) -> list[str]:
        start = path + "."
        return [name for name in self.values if name.startswith(start)]


def parse_form(spec: FormSpec, form: FormData, *, keep_blank_rows: bool = False) -> dict[str, Any]:
    """The nested data of the posted form; blank fields are left out (so a missing required
    field is reported as missing), and blank rows of lists are dropped unless kept."""
    schema, _ = _resolve(spec.schema, spec.defs)
    parser = _Parser(spec, form, keep_blank_rows)
    parsed = parser.properties(schema, spec.prefix, top=True)
    return parsed if parsed is not _BLANK else {}


class _Parser:
    def __init__(self, spec: FormSpec, form: FormData, keep_blank_rows: bool) -> None:
        self.spec = spec
        self.form = form
        self.keep_blank_rows = keep_blank_rows

    def properties(self, node: dict[str, Any], path: str, *, top: bool = False) -> Any:
        result: dict[str, Any] = {}
        required = set(node.get("required", []))
        for name, child in self.spec.properties(node, path):
            if top and name in self.spec.skip:
                continue
            value = self.value(child, _join(path, name))
            if value is _BLANK and name in required and self._is_group(child):
                # An empty required group is validated as empty, so that each of its missing
                # fields is reported at its own place rather than the group as a whole.
                value = {}
            if value is not _BLANK:
                result[name] = value
        return result if result or top else _BLANK

    def _is_group(self, raw: dict[str, Any]) -> bool:
        node, nullable = _resolve(raw, self.spec.defs)
        return not nullable and _widget(node, self.spec.defs) == "group"

    def value(self, raw: dict[str, Any], path: str) -> Any:
        node, _ = _resolve(raw, self.spec.defs)
        widget = self.spec.widgets.get(pattern_of(path)) or _widget(node, self.spec.defs)
        if widget == "group":
            return self.properties(node, path)
        if widget == "list":
            items_node, _ = _resolve(node.get("items", {}), self.spec.defs)
            indices = sorted(
                {
                    int(segment)
                    for name in self.form.names_under(path)
                    if (segment := name[len(path) + 1 :].split(".", 1)[0]).isdigit()
                }
            )
            rows = []
            for index in indices:
                row = self.properties(items_node, f"{path}.{index}")
                if row is _BLANK:
                    if not self.keep_blank_rows:
                        continue
                    row = {}
                rows.append(row)
            return rows if rows or indices else _BLANK
        if widget == "lines":
            lines = [line.strip() for line in self.form.get(path).splitlines() if line.strip()]
            return lines or _BLANK
        if widget == "checkboxes":
            chosen = [v for v in self.form.getlist(path) if v]
            return chosen or _BLANK
        if widget == "questionnaire":
            marked = [self.form.get(name) for name in self.form.names_under(path)]
            return [m for m in marked if m] or _BLANK
        text = self.form.get(path).strip()
        return text if text else _BLANK


def apply_action(values: dict[str, Any], action: str) -> None:
    """``add:envelope.recipients`` appends an empty row; ``remove:envelope.recipients.1``
    removes one."""
    verb, _, path = action.partition(":")
    parts = path.split(".")
    if verb == "remove" and parts and parts[-1].isdigit():
        target = _descend(values, parts[:-1], create=False)
        index = int(parts[-1])
        if isinstance(target, list) and 0 <= index < len(target):
            target.pop(index)
    elif verb == "add":
        target = _descend(values, parts, create=True)
        if isinstance(target, list) and len(target) < 100:
            target.append({})


def _descend(values: Any, parts: list[str], *, create: bool) -> Any:
    node = values
    for position, part in enumerate(parts):
        last = position == len(parts) - 1
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict):
            if part not in node:
                if not create:
                    return None
                node[part] = [] if last else {}
            node = node[part]
        else:
            return None
    return node


# ---------------------------------------------------------------- problems in Lithuanian

_MESSAGES = {
    "missing": "Privalomas laukas.",
    "string_too_short": "Laukas negali būti tuščias.",
    "string_too_long": "Per ilgas tekstas.",
    "string_pattern_mismatch": "Neteisingas formatas.",
    "string_type": "Įrašykite tekstą.",
    "date_from_datetime_parsing": "Įrašykite datą (MMMM-MM-DD).",
    "date_parsing": "Įrašykite datą (MMMM-MM-DD).",
    "date_type": "Įrašykite datą (MMMM-MM-DD).",
    "time_parsing": "Įrašykite laiką (VV:MM).",
    "time_type": "Įrašykite laiką (VV:MM).",
    "datetime_parsing": "Įrašykite datą ir laiką.",
    "datetime_from_date_parsing": "Įrašykite datą ir laiką.",
    "timezone_aware": "Įrašykite datą ir laiką.",
    "int_parsing": "Įrašykite sveikąjį skaičių.",
    "int_type": "Įrašykite sveikąjį skaičių.",
    "greater_than_equal": "Skaičius per mažas.",
    "less_than_equal": "Skaičius per didelis.",
    "enum": "Pasirinkite vieną iš galimų reikšmių.",
    "literal_error": "Pasirinkite vieną iš galimų reikšmių.",
    "bool_parsing": "Pasirinkite „Taip“ arba „Ne“.",
    "too_short": "Įrašykite bent vieną eilutę.",
    "too_long": "Per daug eilučių.",
    "extra_forbidden": "Šis laukas čia nenumatytas.",
    "identity_missing": "Nurodykite asmens kodą arba, jei jis nežinomas, gimimo datą.",
    "release_date_missing": "Lygtinio paleidimo bylai reikia galimo lygtinio paleidimo datos.",
    "municipality": "Pasirinkite savivaldybę iš sąrašo.",
    "commission_roles": "Tarp posėdžio dalyvių turi būti vienas pirmininkas ir vienas sekretorius.",
    "vacancy_date": "Atsilaisvinimo data nurodoma tik neplanuotai atsilaisvinus vietai.",
    "unknown": "Tokio įrašo nėra.",
    "kind": "Ši organizacija nėra pataisos įstaiga.",
    "signer_role": "Šis pasirašantysis šio dokumento nepasirašo.",
    "signer_missing": "Trūksta privalomo pasirašančiojo.",
    "signer_order": "Pasirašantieji surašomi nustatyta tvarka.",
    "subject_missing": "Dokumente turi būti nurodytas nuteistasis.",
    "required": "Privalomas laukas.",
    "in_future": "Data ir laikas negali būti ateityje.",
    "before_previous_step": "Data ir laikas negali būti ankstesni už ankstesnį žingsnį.",
}

# Problems whose place is a field other than the one pydantic names.
_FIELD_OF_CODE = {"release_date_missing": "subject.possible_release_date"}


def lithuanian_message(problem: FieldProblem) -> str:
    if problem.code.startswith("personal_code_"):
        return "Neteisingas asmens kodas (patikrinkite skaitmenis ir kontrolinį skaitmenį)."
    if problem.code == "signer_missing" and "written reply" in problem.message:
        return "Atsakymą raštu pasirašo direktorius arba įgaliotas pareigūnas."
    return _MESSAGES.get(problem.code, problem.message)


def problems_of(error: ValidationError, prefix: str = "") -> list[FieldProblem]:
    problems = []
    for item in error.errors():
        path = ".".join(str(part) for part in item["loc"])
        problems.append(
            FieldProblem(
                _FIELD_OF_CODE.get(item["type"], _join(prefix, path) if path else prefix),
                item["msg"],
                item["type"],
            )
        )
    return problems


def questionnaire_problems(marked: list[str], path: str = "data.marked") -> list[FieldProblem]:
    """Each unanswered or doubly answered item of questionnaire H, at its own place."""
    problems = []
    for problem in check_completeness(marked):
        if problem.kind is ProblemKind.unknown:
            problems.append(FieldProblem(path, "Nežinomas atsakymas.", "unknown_option"))
            continue
        item = ITEMS_BY_ID[problem.item]
        message = (
            f"{item.number}: pažymėkite vieną atsakymą."
            if problem.kind is ProblemKind.missing
            else f"{item.number}: pažymėtas daugiau nei vienas atsakymas."
        )
        problems.append(FieldProblem(f"{path}.{item.id}", message, "questionnaire"))
    return problems


@dataclass(frozen=True)
class ShownProblem:
    field: str
    message: str
    anchor: str | None
    """The id of the field it belongs to, when the form has one."""


def place_problems(
    problems: Sequence[FieldProblem], fields: Sequence[FormField], extra_names: Sequence[str] = ()
) -> tuple[dict[str, list[str]], list[ShownProblem]]:
    """Problems by field name (to draw next to fields) and the list for the summary on top.
    A problem whose field is not on the form goes to its nearest drawn parent."""
    label_of = {f.name: f.label for top in fields for f in top.walk()}
    names = set(label_of) | set(extra_names)
    by_field: dict[str, list[str]] = {}
    shown = []
    for problem in problems:
        message = lithuanian_message(problem)
        name = problem.field
        while name and name not in names:
            name = name.rpartition(".")[0]
        if name:
            by_field.setdefault(name, []).append(message)
            anchor: str | None = "f-" + re.sub(r"\.", "-", name)
        else:
            anchor = None
        label = label_of.get(name)
        shown.append(
            ShownProblem(problem.field, f"{label}: {message}" if label else message, anchor)
        )
    return by_field, shown
