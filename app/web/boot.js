// Loaded before the modules, as a classic script, so that a module that
// fails to load or throws still ends in a sentence on the page rather than a
// blank screen.
(function () {
  "use strict";
  function show(message) {
    var banner = document.getElementById("banner");
    var text = document.getElementById("banner-text");
    if (!banner || !text) return;
    text.textContent = message;
    banner.hidden = false;
    var boot = document.getElementById("boot");
    if (boot && !window.sageReady) boot.textContent = "Sage's page could not start: " + message;
  }
  window.sageShowError = show;
  window.addEventListener("error", function (event) {
    show("Something went wrong in the page: " + (event.message || "a script failed to load"));
  }, true);
  window.addEventListener("unhandledrejection", function (event) {
    var reason = event.reason;
    show("Something went wrong: " + ((reason && reason.message) || String(reason)));
  });
})();
