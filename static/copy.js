// Copy buttons for the code blocks. Each pre > code gets a bar above it
// with a "Copy" button that puts the block's text on the clipboard and says
// "Copied" in a live region, so a screen reader announces it too.
//
// A file of its own, loaded with defer: the Content-Security-Policy
// (default-src 'self') allows no inline script. Without JavaScript the
// blocks are still there to select and copy by hand.
(function () {
  'use strict';

  var blocks = [];

  // A long line scrolls sideways inside its block. A block that scrolls
  // must be reachable with the keyboard, so it can be scrolled with the
  // arrow keys: it takes part in the tab order only while it scrolls.
  function markScrolling() {
    blocks.forEach(function (pre) {
      if (pre.scrollWidth > pre.clientWidth + 1) {
        pre.tabIndex = 0;
      } else {
        pre.removeAttribute('tabindex');
      }
    });
  }

  // say puts the message in the live region. It empties the region first,
  // so that the same message twice in a row is announced twice.
  function say(status, message) {
    clearTimeout(status.clearTimer);
    status.textContent = '';
    setTimeout(function () {
      status.textContent = message;
      status.clearTimer = setTimeout(function () { status.textContent = ''; }, 6000);
    }, 60);
  }

  // selectText selects the text of the code, for copying by hand when the
  // clipboard cannot be written (a page served over plain HTTP to another
  // machine is not a secure context, and has no navigator.clipboard).
  function selectText(code) {
    var range = document.createRange();
    range.selectNodeContents(code);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function addButton(code, index) {
    var pre = code.parentElement;
    var block = document.createElement('div');
    block.className = 'code-block';
    pre.parentNode.insertBefore(block, pre);
    block.appendChild(pre);

    var bar = document.createElement('div');
    bar.className = 'copy-bar';
    var button = document.createElement('button');
    button.type = 'button';
    button.className = 'copy';
    button.textContent = 'Copy';
    var status = document.createElement('span');
    status.className = 'copy-status';
    status.id = 'copy-status-' + (index + 1);
    status.setAttribute('role', 'status'); // implies aria-live="polite"
    bar.appendChild(status);
    bar.appendChild(button);
    block.insertBefore(bar, pre);

    button.addEventListener('click', function () {
      var text = code.textContent;
      if (!navigator.clipboard || !window.isSecureContext) {
        selectText(code);
        say(status, 'Selected: press Ctrl+C (⌘C on a Mac) to copy');
        return;
      }
      navigator.clipboard.writeText(text).then(function () {
        say(status, 'Copied');
      }, function () {
        selectText(code);
        say(status, 'Could not copy: the text is selected, press Ctrl+C (⌘C on a Mac)');
      });
    });
    blocks.push(pre);
  }

  document.querySelectorAll('pre > code').forEach(addButton);
  markScrolling();
  var pending = 0;
  window.addEventListener('resize', function () {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(markScrolling);
  });
}());
