/* Kura's few conveniences; every page works without them. */
(function () {
  "use strict";
  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    var search = document.getElementById("search");
    if (e.key === "/" && search) { e.preventDefault(); search.focus(); search.select(); }
    else if (e.key === "n") { e.preventDefault(); window.location.href = "/add"; }
  });
  document.addEventListener("change", function (e) {
    var all = e.target;
    if (all.id !== "select-all") return;
    var form = all.form || document;
    form.querySelectorAll('input[name="ids"]').forEach(function (box) { box.checked = all.checked; });
  });
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.hasAttribute("data-progress") || !window.XMLHttpRequest || !window.FormData) return;
    e.preventDefault();
    var bar = form.querySelector("progress") || form.appendChild(document.createElement("progress"));
    bar.max = 100; bar.value = 0; bar.hidden = false;
    var xhr = new XMLHttpRequest();
    xhr.open(form.method || "post", form.action);
    xhr.upload.onprogress = function (p) { if (p.lengthComputable) bar.value = Math.round(100 * p.loaded / p.total); };
    xhr.onload = function () {
      if (xhr.responseURL) history.replaceState(null, "", xhr.responseURL);
      document.open(); document.write(xhr.responseText); document.close();
    };
    xhr.onerror = function () { form.removeAttribute("data-progress"); form.submit(); };
    xhr.send(new FormData(form));
  });
})();
