// Embeddable chat widget. Put on any page:
//   <script src="https://HUB/widget.js" data-tenant="default" data-group="GROUP_ID" data-label="在线客服"></script>
// It adds a button that opens the hub's chat page in a frame. A site whose
// customer is signed in may add data-user-id, data-user-name and
// data-user-hash (hex HMAC-SHA256 of the user id with the tenant's identity
// secret, computed on the site's server): the chat then belongs to that
// customer on every device. They travel in the frame's fragment, which is
// never sent to a server.
(function () {
  var s = document.currentScript;
  if (!s) return;
  var origin = new URL(s.src).origin;
  var q = new URLSearchParams({ tenant: s.dataset.tenant || 'default', embed: '1' });
  if (s.dataset.group) q.set('group', s.dataset.group);
  var claim = new URLSearchParams();
  if (s.dataset.userId) {
    claim.set('user_id', s.dataset.userId);
    if (s.dataset.userName) claim.set('user_name', s.dataset.userName);
    claim.set('user_hash', s.dataset.userHash || '');
  }
  var btn = document.createElement('button');
  btn.type = 'button';
  btn.textContent = s.dataset.label || '在线客服';
  btn.setAttribute('aria-label', btn.textContent);
  btn.style.cssText = 'position:fixed;right:20px;bottom:20px;z-index:2147483000;padding:12px 18px;border:none;border-radius:24px;background:#1463ff;color:#fff;font:15px sans-serif;box-shadow:0 6px 20px rgba(20,99,255,.4);cursor:pointer';
  var frame = null;
  btn.addEventListener('click', function () {
    if (!frame) {
      frame = document.createElement('iframe');
      frame.src = origin + '/chat?' + q.toString() + (claim.toString() ? '#' + claim.toString() : '');
      frame.title = btn.textContent;
      frame.style.cssText = 'position:fixed;right:20px;bottom:80px;z-index:2147483000;width:min(380px,calc(100vw - 40px));height:min(600px,calc(100vh - 120px));border:none;border-radius:12px;box-shadow:0 12px 40px rgba(0,0,0,.25);background:#fff';
      document.body.appendChild(frame);
    } else {
      frame.hidden = !frame.hidden;
    }
  });
  document.body.appendChild(btn);
})();
