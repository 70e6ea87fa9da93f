// The multiple-choice widget's view (course_lib/quiz_widget.py), answered in the browser: Check
// and Hint need no kernel, so they answer at once even while Run All keeps the kernel busy.
// Every text comes from the model, written by course_lib/quiz.py: `options` ([key, label]),
// `prompt`, `hint` and `pick_first` (HTML), `final` ({key: HTML}: what Check shows for that
// choice) and `retry` ({key: HTML}, the wrong choices of a self-paced question only: what
// Check shows for one while no wrong choice was checked before, a second try).

function button(text, primary) {
  const element = document.createElement("button");
  element.className = "jupyter-widgets jupyter-button widget-button" + (primary ? " mod-primary" : "");
  element.textContent = text;
  return element;
}

function render({ model, el }) {
  const group = `llmf-quiz-${Math.random().toString(36).slice(2)}`;
  const choices = document.createElement("div");
  choices.className = "widget-radio-box";
  choices.setAttribute("role", "radiogroup");
  for (const [key, label] of model.get("options")) {
    const row = document.createElement("label");
    const input = document.createElement("input");
    input.type = "radio";
    input.name = group;
    input.value = key;
    row.append(input, ` ${label}`);
    choices.append(row);
  }
  const check = button("Check", true);
  const hint = button("Hint", false);
  const buttons = document.createElement("div");
  buttons.className = "widget-hbox";
  buttons.append(check, hint);
  const feedback = document.createElement("div");
  feedback.className = "widget-html-content";
  feedback.innerHTML = model.get("prompt");

  let wrongChecks = 0; // the wrong choices checked so far, in this view
  check.addEventListener("click", () => {
    const chosen = choices.querySelector("input:checked");
    if (!chosen) {
      feedback.innerHTML = model.get("pick_first");
      return;
    }
    const retry = model.get("retry");
    const wrong = Object.hasOwn(retry, chosen.value);
    feedback.innerHTML = wrong && wrongChecks === 0 ? retry[chosen.value] : model.get("final")[chosen.value];
    if (wrong) wrongChecks += 1;
  });
  hint.addEventListener("click", () => {
    feedback.innerHTML = model.get("hint");
  });
  el.classList.add("llmf-quiz", "widget-vbox");
  el.append(choices, buttons, feedback);
}

export default { render };
