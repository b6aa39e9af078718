#!/usr/bin/env python3
"""Checks over rustdoc's JSON output of the crate: the public API listing and the doc examples.

    scripts/api.py examples JSON...           every public function, method, trait method,
                                              struct, enum, trait and type alias has a doc
                                              example that rustdoc runs or compiles; fails
                                              naming those that have none
    scripts/api.py listing JSON...            the public API, rendered one item per line, equals
                                              public-api.txt (or the lines of it that belong to
                                              the targets given); fails with a diff
    scripts/api.py listing --bless JSON...    rewrites public-api.txt (needs the JSON of every
                                              target that the file lists)

JSON files come from

    RUSTC_BOOTSTRAP=1 RUSTDOCFLAGS="-Zunstable-options --output-format json --cfg docsrs" \\
        cargo doc --no-deps --all-features [--target T]

(`.ci/run` builds them for the targets of `[package.metadata.docs.rs]`, then runs both checks.)

The listing is deterministic: sorted by item path, one item per line with its signature and the
attributes that matter for compatibility (`#[non_exhaustive]`, `#[repr]`, `#[must_use]`), trait
implementations (auto traits included; blanket implementations from core left out), and a
trailing `[target, ...]` on the lines that hold on some targets only. Only the standard library
and the Python that every CI machine has are used, so no tool needs building or caching.
"""

import difflib
import json
import os
import sys

FORMAT_VERSIONS = {57}  # rustdoc 1.95 (rustup) and 1.96 (Debian); add others after a look
LISTING = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "public-api.txt")
AUTO_TRAITS = {"Send", "Sync", "Unpin", "UnwindSafe", "RefUnwindSafe"}
# Fence words that make a code block a doc test rustdoc compiles (and runs, unless `no_run`).
TESTED_FENCE_WORDS = {"", "rust", "no_run", "should_panic", "edition2018", "edition2021",
                      "edition2024"}


class Crate:
    def __init__(self, path):
        with open(path) as f:
            self.doc = json.load(f)
        version = self.doc.get("format_version")
        if version not in FORMAT_VERSIONS:
            sys.exit(f"{path}: rustdoc JSON format {version}; this script knows "
                     f"{sorted(FORMAT_VERSIONS)}: check the renderer, then add it")
        self.index = self.doc["index"]
        self.paths = self.doc["paths"]
        self.target = self.doc["target"]["triple"]
        self.root = self.doc["root"]
        # The shortest public path of each item (`pmem_flush::Drain`, not its private home
        # `pmem_flush::traits::Drain` nor `pmem_flush::prelude::Drain`), for types in signatures.
        self.public_path = {}
        for path, item in self.public_items():
            best = self.public_path.get(item["id"])
            if best is None or (len(path), path) < (len(best), best):
                self.public_path[item["id"]] = path

    def item(self, id_):
        return self.index.get(str(id_))

    # --- reachable public items -------------------------------------------------------------

    def public_items(self):
        """(path, item) for every public item reachable from the crate root, re-exports
        included, each path once."""
        out, seen = [], set()

        def walk(id_, path):
            item = self.item(id_)
            if item is None:
                return
            key = (tuple(path), id_)
            if key in seen:
                return
            seen.add(key)
            kind, inner = kind_of(item)
            out.append((path, item))
            if kind == "module":
                for child in inner["items"]:
                    c = self.item(child)
                    if c is None or c["visibility"] != "public":
                        continue
                    ck, ci = kind_of(c)
                    if ck == "use":
                        target = self.item(ci["id"]) if ci["id"] is not None else None
                        if ci["is_glob"]:
                            if target is not None:
                                for grandchild in kind_of(target)[1]["items"]:
                                    g = self.item(grandchild)
                                    if g is not None and g["visibility"] == "public" and g["name"]:
                                        walk(grandchild, path + [g["name"]])
                        elif target is not None:
                            walk(ci["id"], path + [ci["name"]])
                        else:
                            out.append((path + [ci["name"]], c))
                    elif c["name"]:
                        walk(child, path + [c["name"]])

        walk(self.root, [self.item(self.root)["name"]])
        return out

    # --- rendering --------------------------------------------------------------------------

    def path_of(self, id_, written):
        if id_ in self.public_path:
            return "::".join(self.public_path[id_])
        summary = self.paths.get(str(id_))
        return "::".join(summary["path"]) if summary else written

    def ty(self, t):
        if t is None:
            return "()"
        (k, v), = t.items()
        if k == "resolved_path":
            return self.path_of(v["id"], v["path"]) + self.args(v.get("args"))
        if k == "generic":
            return v
        if k == "primitive":
            return v
        if k == "tuple":
            return "(" + ", ".join(self.ty(x) for x in v) + ("," if len(v) == 1 else "") + ")"
        if k == "slice":
            return "[" + self.ty(v) + "]"
        if k == "array":
            return f"[{self.ty(v['type'])}; {v['len']}]"
        if k == "raw_pointer":
            return ("*mut " if v["is_mutable"] else "*const ") + self.ty(v["type"])
        if k == "borrowed_ref":
            lt = v["lifetime"] + " " if v["lifetime"] else ""
            return "&" + lt + ("mut " if v["is_mutable"] else "") + self.ty(v["type"])
        if k == "function_pointer":
            h = v["header"]
            prefix = self.hrtb(v["generic_params"])
            prefix += "unsafe " if h["is_unsafe"] else ""
            prefix += self.abi(h["abi"])
            return prefix + "fn(" + ", ".join(self.ty(a) for _, a in v["sig"]["inputs"]) + ")" \
                + self.ret(v["sig"]["output"])
        if k == "impl_trait":
            return "impl " + " + ".join(self.bound(b) for b in v)
        if k == "dyn_trait":
            parts = [self.hrtb(p["generic_params"]) + self.path(p["trait"]) for p in v["traits"]]
            if v.get("lifetime"):
                parts.append(v["lifetime"])
            return "dyn " + " + ".join(parts)
        if k == "qualified_path":
            trait = v.get("trait")
            base = self.ty(v["self_type"])
            if trait:
                base = f"<{base} as {self.path(trait)}>"
            return base + "::" + v["name"] + self.args(v.get("args"))
        if k == "infer":
            return "_"
        return f"<{k}>"

    def path(self, p):
        return self.path_of(p["id"], p["path"]) + self.args(p.get("args"))

    def args(self, a):
        if not a:
            return ""
        (k, v), = a.items()
        if k == "angle_bracketed":
            parts = []
            for arg in v["args"]:
                (ak, av), = arg.items()
                parts.append(av if ak == "lifetime" else
                             self.ty(av) if ak == "type" else
                             "_" if ak == "infer" else
                             (av.get("expr") or av.get("value") or "_"))
            for c in v["constraints"]:
                (bk, bv), = c["binding"].items()
                name = c["name"] + self.args(c.get("args"))
                if bk == "equality":
                    (tk, tv), = bv.items()
                    parts.append(f"{name} = " + (self.ty(tv) if tk == "type" else str(tv)))
                else:
                    parts.append(f"{name}: " + " + ".join(self.bound(b) for b in bv))
            return "<" + ", ".join(parts) + ">" if parts else ""
        if k == "parenthesized":
            return "(" + ", ".join(self.ty(x) for x in v["inputs"]) + ")" + self.ret(v["output"])
        return ""

    def ret(self, output):
        return "" if output is None else " -> " + self.ty(output)

    def abi(self, abi):
        if abi == "Rust":
            return ""
        if isinstance(abi, dict):
            (k, _), = abi.items()
            return f'extern "{k}" '
        return f'extern "{abi}" '

    def bound(self, b):
        (k, v), = b.items()
        if k == "trait_bound":
            m = {"none": "", "maybe": "?", "maybe_const": "~const "}.get(v["modifier"], "")
            return self.hrtb(v["generic_params"]) + m + self.path(v["trait"])
        if k == "outlives":
            return v
        if k == "use":
            return "use<" + ", ".join(x if isinstance(x, str) else list(x.values())[0]
                                      for x in v) + ">"
        return f"<{k}>"

    def hrtb(self, params):
        names = [p["name"] for p in params]
        return f"for<{', '.join(names)}> " if names else ""

    def generics(self, g):
        """(`<...>`, ` where ...`) for a generics block; impl-Trait parameters left out."""
        params = []
        for p in g["params"]:
            (k, v), = p["kind"].items()
            if k == "lifetime":
                params.append(p["name"] + (": " + " + ".join(v["outlives"])
                                           if v["outlives"] else ""))
            elif k == "type":
                if v["is_synthetic"]:
                    continue
                s = p["name"]
                if v["bounds"]:
                    s += ": " + " + ".join(self.bound(b) for b in v["bounds"])
                if v["default"]:
                    s += " = " + self.ty(v["default"])
                params.append(s)
            elif k == "const":
                s = f"const {p['name']}: {self.ty(v['type'])}"
                if v.get("default"):
                    s += f" = {v['default']}"
                params.append(s)
        preds = []
        for w in g["where_predicates"]:
            (k, v), = w.items()
            if k == "bound_predicate":
                preds.append(self.hrtb(v["generic_params"]) + self.ty(v["type"]) + ": "
                             + " + ".join(self.bound(b) for b in v["bounds"]))
            elif k == "lifetime_predicate":
                preds.append(v["lifetime"] + ": " + " + ".join(v["outlives"]))
            elif k == "eq_predicate":
                (tk, tv), = v["rhs"].items()
                preds.append(self.ty(v["lhs"]) + " = " + (self.ty(tv) if tk == "type" else str(tv)))
        return ("<" + ", ".join(params) + ">" if params else "",
                " where " + ", ".join(preds) if preds else "")

    def attrs(self, item):
        out = []
        for a in item["attrs"]:
            if a == "non_exhaustive":
                out.append("#[non_exhaustive]")
            elif isinstance(a, dict) and "must_use" in a:
                out.append("#[must_use]")
            elif isinstance(a, dict) and "repr" in a:
                r = a["repr"]
                parts = [x for x in [r["kind"] if r["kind"] != "rust" else None, r["int"],
                                     f"align({r['align']})" if r["align"] else None,
                                     f"packed({r['packed']})" if r["packed"] else None] if x]
                if parts:
                    out.append("#[repr(" + ", ".join(parts) + ")]")
        return "".join(a + " " for a in out)

    def function(self, path, f, item):
        h = f["header"]
        head = "pub " + ("const " if h["is_const"] else "") + ("async " if h["is_async"] else "")
        head += ("unsafe " if h["is_unsafe"] else "") + self.abi(h["abi"])
        params, where = self.generics(f["generics"])
        inputs = []
        for name, t in f["sig"]["inputs"]:
            if name == "self":
                rendered = self.ty(t)
                inputs.append({"Self": "self", "&Self": "&self", "&mut Self": "&mut self"}
                              .get(rendered, "self: " + rendered))
            else:
                inputs.append(f"{name}: {self.ty(t)}")
        return (self.attrs(item) + head + "fn " + path + params + "(" + ", ".join(inputs) + ")"
                + self.ret(f["sig"]["output"]) + where)

    def lines(self):
        """The rendered public API of this target: a set of lines."""
        out = set()
        for path, item in self.public_items():
            p = "::".join(path)
            kind, inner = kind_of(item)
            a = self.attrs(item)
            home = self.public_path.get(item["id"])
            if home is not None and home != path:
                out.add(f"pub use {p} = {'::'.join(home)}")  # listed at its shortest path
                continue
            if kind == "module":
                out.add(f"pub mod {p}")
            elif kind == "use":
                out.add(f"pub use {p} = {inner['source']}")
            elif kind == "function":
                out.add(self.function(p, inner, item))
            elif kind == "constant":
                out.add(f"{a}pub const {p}: {self.ty(inner['type'])}")
            elif kind == "static":
                out.add(f"{a}pub static {p}: {self.ty(inner['type'])}")
            elif kind == "type_alias":
                params, where = self.generics(inner["generics"])
                out.add(f"{a}pub type {p}{params}{where} = {self.ty(inner['type'])}")
            elif kind == "struct":
                params, where = self.generics(inner["generics"])
                (sk, sv), = inner["kind"].items() if isinstance(inner["kind"], dict) \
                    else [(inner["kind"], None)]
                out.add(f"{a}pub struct {p}{params}{where}")
                if sk == "plain":
                    for fid in sv["fields"]:
                        fi = self.item(fid)
                        if fi and fi["visibility"] == "public":
                            out.add(f"pub {p}::{fi['name']}: {self.ty(fi['inner']['struct_field'])}")
                elif sk == "tuple":
                    for n, fid in enumerate(sv):
                        fi = self.item(fid) if fid is not None else None
                        if fi and fi["visibility"] == "public":
                            out.add(f"pub {p}::{n}: {self.ty(fi['inner']['struct_field'])}")
                self.impls(p, inner["impls"], out)
            elif kind == "enum":
                params, where = self.generics(inner["generics"])
                out.add(f"{a}pub enum {p}{params}{where}")
                for vid in inner["variants"]:
                    v = self.item(vid)
                    vk = v["inner"]["variant"]["kind"]
                    if vk == "plain":
                        d = v["inner"]["variant"].get("discriminant")
                        value = f" = {d['value']}" if d else ""
                        out.add(f"{self.attrs(v)}pub {p}::{v['name']}{value}")
                    elif "tuple" in vk:
                        fields = [self.ty(self.item(f)["inner"]["struct_field"])
                                  for f in vk["tuple"] if f is not None]
                        out.add(f"{self.attrs(v)}pub {p}::{v['name']}({', '.join(fields)})")
                    else:
                        out.add(f"{self.attrs(v)}pub {p}::{v['name']} {{ .. }}")
                        for f in vk["struct"]["fields"]:
                            fi = self.item(f)
                            out.add(f"pub {p}::{v['name']}::{fi['name']}: "
                                    f"{self.ty(fi['inner']['struct_field'])}")
                self.impls(p, inner["impls"], out)
            elif kind == "trait":
                params, where = self.generics(inner["generics"])
                bounds = ": " + " + ".join(self.bound(b) for b in inner["bounds"]) \
                    if inner["bounds"] else ""
                unsafe = "unsafe " if inner["is_unsafe"] else ""
                out.add(f"{a}pub {unsafe}trait {p}{params}{bounds}{where}")
                for mid in inner["items"]:
                    m = self.item(mid)
                    mk, mi = kind_of(m)
                    mp = f"{p}::{m['name']}"
                    if mk == "function":
                        provided = " { .. }" if mi["has_body"] else ""
                        out.add(self.function(mp, mi, m) + provided)
                    elif mk == "assoc_type":
                        out.add(f"pub type {mp}")
                    elif mk == "assoc_const":
                        out.add(f"pub const {mp}: {self.ty(mi['type'])}")
                for iid in inner["implementations"]:
                    impl = kind_of(self.item(iid))[1]
                    params, where = self.generics(impl["generics"])
                    out.add(f"impl{params} {self.path(impl['trait'])} for "
                            f"{self.ty(impl['for'])}{where}")

        return out

    def impls(self, p, impl_ids, out):
        for iid in impl_ids:
            impl = kind_of(self.item(iid))[1]
            if impl["blanket_impl"] is not None:
                continue
            trait = impl["trait"]
            if impl["is_synthetic"] and (trait is None or trait["path"].split("::")[-1]
                                         not in AUTO_TRAITS):
                continue
            if trait is not None and trait["path"].split("::")[-1] == "StructuralPartialEq":
                continue  # an unstable marker that `derive(PartialEq)` adds
            params, where = self.generics(impl["generics"])
            if trait is None:
                for mid in impl["items"]:
                    m = self.item(mid)
                    if m is None or m["visibility"] != "public":
                        continue
                    mk, mi = kind_of(m)
                    # The impl's own parameters and bounds (`impl<H: PageHook> PageFlusher<H>`)
                    # go with each method's path.
                    mp = f"{p}{params}{where}::{m['name']}"
                    if mk == "function":
                        out.add(self.function(mp, mi, m))
                    elif mk == "assoc_const":
                        out.add(f"{self.attrs(m)}pub const {mp}: {self.ty(mi['type'])}")
            else:
                neg = "!" if impl["is_negative"] else ""
                unsafe = "unsafe " if impl["is_unsafe"] else ""
                header = (f"{unsafe}impl{params} {neg}{self.path(trait)} for "
                          f"{self.ty(impl['for'])}{where}")
                out.add(header)
                for mid in impl["items"]:
                    m = self.item(mid)
                    if m is None:
                        continue
                    mk, mi = kind_of(m)
                    if mk == "assoc_type" and mi.get("type") is not None:
                        out.add(f"{header}: type {m['name']} = {self.ty(mi['type'])}")
                    elif mk == "assoc_const":
                        out.add(f"{header}: const {m['name']}: {self.ty(mi['type'])}")

    def is_bitflags(self, impl_ids):
        """Whether a type is a `bitflags!` type (implements `bitflags::Flags`)."""
        for iid in impl_ids:
            trait = kind_of(self.item(iid))[1]["trait"]
            summary = self.paths.get(str(trait["id"])) if trait else None
            if summary and summary["path"][0] == "bitflags" and summary["path"][-1] == "Flags":
                return True
        return False

    # --- doc examples -----------------------------------------------------------------------

    def missing_examples(self):
        """Paths of public functions, methods, trait methods, structs, enums, traits and type
        aliases whose docs hold no code block that rustdoc compiles."""
        missing, seen = [], set()
        for path, item in self.public_items():
            if path != self.public_path.get(item["id"]):
                continue  # checked under its shortest path
            kind, inner = kind_of(item)
            p = "::".join(path)
            checked = []
            if kind in ("function", "struct", "enum", "trait", "type_alias"):
                checked.append((p, item))
            if kind in ("struct", "enum"):
                flags = self.is_bitflags(inner["impls"])
                for iid in inner["impls"]:
                    impl = kind_of(self.item(iid))[1]
                    if impl["trait"] is None and impl["blanket_impl"] is None:
                        for mid in impl["items"]:
                            m = self.item(mid)
                            if m and m["visibility"] == "public" and "function" in m["inner"]:
                                if flags and m["span"] == item["span"]:
                                    # Generated with the type by `bitflags!`, with that
                                    # crate's docs: the type's own example shows them in use.
                                    continue
                                checked.append((f"{p}::{m['name']}", m))
            if kind == "trait":
                for mid in inner["items"]:
                    m = self.item(mid)
                    if "function" in m["inner"]:
                        checked.append((f"{p}::{m['name']}", m))
            for name, it in checked:
                if it["id"] in seen:
                    continue
                seen.add(it["id"])
                if not has_tested_example(it.get("docs") or ""):
                    missing.append(name)
        return sorted(missing), len(seen)


def kind_of(item):
    (k, v), = item["inner"].items()
    return k, v


def has_tested_example(docs):
    """Whether the docs hold a fenced code block that rustdoc compiles as a doc test."""
    for line in docs.splitlines():
        s = line.strip()
        for fence in ("```", "~~~"):
            if s.startswith(fence):
                info = s[len(fence):].strip().strip("{}")
                words = {w.strip() for w in info.replace(" ", ",").split(",")}
                if words <= TESTED_FENCE_WORDS:
                    return True
    return False


def listing(crates):
    """The merged listing: every line of every target, marked with its targets unless it
    holds on all of them."""
    targets = sorted(c.target for c in crates)
    where = {}
    for c in crates:
        for line in c.lines():
            where.setdefault(line, set()).add(c.target)
    out = []
    for line in sorted(where, key=sort_key):
        ts = where[line]
        out.append(line if len(ts) == len(targets) else f"{line}  [{', '.join(sorted(ts))}]")
    header = ["# The public API of pmem-flush, from rustdoc's JSON with all features and",
              "# --cfg docsrs, for the targets of [package.metadata.docs.rs]:",
              "#   " + ", ".join(targets),
              "# A line that holds on some of them only ends with their list.",
              "# Regenerate with `bash scripts/docs.sh api --bless`; CI compares."]
    return header + out


def sort_key(line):
    """Lines sorted by the path of the item they are about (generic arguments left out), then
    by the line: a type's fields, methods and implementations follow the type."""
    subject = line
    if line.startswith(("impl", "unsafe impl")):
        head = line.split(": type ")[0].split(": const ")[0]
        if " for " in head:
            trait, for_ = head.split(" for ", 1)
            subject = for_ if for_.startswith("pmem_flush::") else trait.split("> ", 1)[-1]
    start = subject.find("pmem_flush")
    if start < 0:
        return ("~", True, line)
    path, depth = [], 0
    for i in range(start, len(subject)):
        ch = subject[i]
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif depth == 0:
            if ch in " (" or (ch == ":" and ":" not in (subject[i - 1], subject[i + 1:i + 2])):
                break
            path.append(ch)
    return ("".join(path), line.startswith(("impl", "unsafe impl")), line)


def project(lines, target):
    """The lines of a merged listing that hold on `target`, without the target lists."""
    out = []
    for line in lines:
        if line.startswith("# ") or line == "#":
            continue  # the header
        if line.endswith("]") and "  [" in line:
            body, ts = line.rsplit("  [", 1)
            if target not in ts[:-1].split(", "):
                continue
            line = body
        out.append(line)
    return out


def main(argv):
    if len(argv) < 2 or argv[0] not in ("examples", "listing"):
        sys.exit(__doc__)
    cmd, args = argv[0], argv[1:]
    bless = "--bless" in args
    crates = [Crate(a) for a in args if a != "--bless"]
    if cmd == "examples":
        failed = False
        for c in crates:
            missing, checked = c.missing_examples()
            if missing:
                failed = True
                print(f"{c.target}: {len(missing)} public item(s) without a doc example:")
                for m in missing:
                    print(f"  {m}")
            else:
                print(f"{c.target}: all {checked} public functions, methods, types, traits "
                      f"and type aliases have a doc example")
        return 1 if failed else 0
    new = listing(crates)
    if bless:
        with open(LISTING, "w") as f:
            f.write("\n".join(new) + "\n")
        print(f"wrote {os.path.relpath(LISTING)}: {len(new)} lines")
        return 0
    with open(LISTING) as f:
        old = f.read().splitlines()
    failed = False
    for c in crates:
        want = project(old, c.target)
        got = sorted(c.lines(), key=sort_key)
        if want != got:
            failed = True
            print(f"{c.target}: the public API differs from public-api.txt (- listed, + now):")
            for d in difflib.unified_diff(want, got, "public-api.txt", c.target, lineterm="",
                                          n=1):
                print("  " + d)
        else:
            print(f"{c.target}: public API as listed ({len(got)} lines)")
    # With every target the file lists, the whole file must be what --bless writes (no stale
    # lines of a target that is gone, the header included).
    listed = next((l[1:].strip() for l in old if l.startswith("#   ")), "")
    if not failed and listed == ", ".join(sorted(c.target for c in crates)) and new != old:
        failed = True
        print("public-api.txt is not what --bless writes for these targets:")
        for d in difflib.unified_diff(old, new, "public-api.txt", "--bless", lineterm="", n=0):
            print("  " + d)
    if failed:
        print("If the change is meant: bash scripts/docs.sh api --bless, and commit "
              "public-api.txt with it.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
