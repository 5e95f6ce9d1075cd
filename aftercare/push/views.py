"""Devices for push: turning it on and off, the list (a patient's Settings, a clinician's account page), a test."""

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import jsonify
from flask import redirect
from flask import url_for
from flask_login import current_user

from ..access import get_object_or_404
from ..access import roles
from ..access import signed_in
from ..exports import iso
from ..inputs import json_body
from ..models import CLINICIAN
from ..models import DELIVERED
from ..models import Device
from ..models import PATIENT
from ..pages import button
from ..pages import require_button
from ..reminders import dispatcher
from . import devices
from . import vapid

bp = Blueprint("push", __name__)

# Patients get reminders; clinicians hear of safety alerts (CLIN-03). Administrators get neither.
with_devices = roles(PATIENT, CLINICIAN)

OUTCOME_WORDS = {
    DELIVERED: "sent",
    "gone": "no longer subscribed; removed from your list",
    "retry": "the push service is busy; it will be tried again",
    "refused": "the push service refused it; the clinic has been told",
    "failed": "could not be sent",
}


def _me():
    return current_user._get_current_object()


def _devices_page() -> str:
    """Where a person's devices are listed: a patient's Settings, a clinician's account page."""
    if current_user.role == PATIENT:
        return url_for("patient.settings", _anchor="reminders")
    return url_for("auth.account", _anchor="reminders")


def device_json(device: Device) -> dict:
    return {
        "id": device.id,
        "name": device.name,
        "created_at": iso(device.created_at),
        "last_success_at": iso(device.last_success_at),
    }


@bp.route("/api/v1/push/key")
@signed_in
def public_key():
    """The key browsers subscribe with (applicationServerKey); null while the clinic has not set push up."""
    keys = vapid.keys(current_app.config)
    return jsonify(public_key=keys.public if keys else None)


@bp.route("/api/v1/devices", methods=["POST"])
@with_devices
def api_register():
    """Store this browser's push subscription (PUSH-03); the page calls it on every app open to stay in step."""
    device, created = devices.register(_me(), json_body())
    return jsonify(device_json(device)), 201 if created else 200


@bp.route("/api/v1/devices/forget", methods=["POST"])
@with_devices
def api_forget():
    """This browser unsubscribed (or its permission was withdrawn): stop sending to it."""
    data = json_body()
    endpoint = data.get("endpoint") if isinstance(data, dict) else None
    return jsonify(removed=devices.forget(_me(), endpoint))


@bp.route("/settings/devices/<int:device_id>/remove", methods=["POST"])
@with_devices
def remove_device(device_id):
    me = _me()
    device = get_object_or_404(Device, Device.id == device_id, Device.user == me)
    return button(
        lambda: devices.remove(me, device),
        f"{device.name} no longer gets reminders.",
        _devices_page(),
    )


@bp.route("/settings/reminders/test", methods=["POST"])
@with_devices
def send_test():
    require_button()
    report = dispatcher.send_test(_me())
    if report.problem:
        flash(report.problem, "info")
    else:
        words = "; ".join(f"{name}: {OUTCOME_WORDS.get(outcome, outcome)}" for name, outcome in report.results)
        reached = any(outcome == DELIVERED for _, outcome in report.results)
        flash(
            f"Test reminder {'sent' if reached else 'not delivered'}. {words}.",
            "success" if reached else "error",
        )
    return redirect(_devices_page())
