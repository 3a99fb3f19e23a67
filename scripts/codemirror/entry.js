// Mianjing's code editor: CodeMirror 6 with Python, bundled once into static/vendor/codemirror/ (see
// scripts/build-codemirror.sh). It replaces a <textarea> and keeps it in sync, so the form, the autosave and
// the keyboard-only fallback all read the textarea.
import { basicSetup } from "codemirror";
import { EditorView, keymap } from "@codemirror/view";
import { EditorState } from "@codemirror/state";
import { indentWithTab } from "@codemirror/commands";
import { indentUnit } from "@codemirror/language";
import { python } from "@codemirror/lang-python";

function attach(textarea, options = {}) {
  const label = options.label || textarea.getAttribute("aria-label") || "code";
  const view = new EditorView({
    state: EditorState.create({
      doc: textarea.value,
      extensions: [
        basicSetup,
        python(),
        indentUnit.of("    "),
        EditorState.tabSize.of(4),
        keymap.of([indentWithTab]),  // Esc, then Tab, leaves the editor (CodeMirror's focus escape)
        EditorView.contentAttributes.of({ "aria-label": label }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) {
            textarea.value = update.state.doc.toString();
            textarea.dispatchEvent(new Event("input", { bubbles: true }));
          }
        }),
        EditorView.domEventHandlers({
          blur: () => { textarea.dispatchEvent(new Event("change", { bubbles: true })); },
        }),
      ],
    }),
  });
  textarea.style.display = "none";
  textarea.parentNode.insertBefore(view.dom, textarea.nextSibling);
  return {
    view,
    get value() { return view.state.doc.toString(); },
    set value(text) { view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } }); },
    focus() { view.focus(); },
  };
}

window.MianjingEditor = { attach };
