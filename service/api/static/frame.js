// The /embed page: the portal frames /embed#report=<id>&token=<access token>[&lang=es].
// The URL fragment never reaches a server or a Referer header; it is read once and then
// removed from the address, so the token does not stay in the frame's history.
"use strict";

const params = new URLSearchParams(location.hash.slice(1));
history.replaceState(null, "", location.pathname + location.search);
const element = document.querySelector("radplain-explanation");
if (params.get("lang")) element.setAttribute("lang", params.get("lang"));
if (params.get("report")) element.setAttribute("report", params.get("report"));
element.token = params.get("token");
