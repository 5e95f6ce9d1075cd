"""The circles' pages: patients browse, join and talk; staff run circles; facilitators keep the board safe.

Patients' pages are under /circles, staff's under /staff/circles. A board's posts are read on the
circle's page by its members and on the staff page by its facilitator only (board.reader).
"""

from flask import abort
from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import Response
from flask import url_for
from flask_login import current_user

from ..access import get_object_or_404
from ..access import patients_only
from ..access import signed_in
from ..access import staff_only
from ..inputs import Invalid
from ..inputs import safe_path
from ..links import external_url
from ..localtime import to_local
from ..models import ADMIN
from ..models import Circle
from ..models import CIRCLE_AUDIENCES
from ..models import CIRCLE_MODES
from ..models import CircleMeeting
from ..models import CircleMember
from ..models import CLINICIAN
from ..models import INVITED_ONLY
from ..models import MEMBER
from ..models import User
from ..models import utcnow
from ..pages import button
from ..pages import require_button
from . import board
from . import calendar
from . import membership
from . import organise

bp = Blueprint("circles", __name__)


def _me() -> User:
    return current_user._get_current_object()


def _open_circle(circle_id: int) -> Circle:
    """A circle the patient may see (open, and for everyone, invited or theirs); else 404 (AC-02)."""
    return get_object_or_404(membership.visible(_me()), Circle.id == circle_id)


def _staff_circle(circle_id: int) -> Circle:
    return get_object_or_404(Circle, Circle.id == circle_id)


def _running(circle_id: int) -> Circle:
    """A circle the staff member may change (its facilitator, or an administrator); else 404."""
    circle = _staff_circle(circle_id)
    if not organise.may_run(_me(), circle):
        abort(404)
    return circle


def _facilitating(circle_id: int) -> Circle:
    circle = _staff_circle(circle_id)
    if not organise.is_facilitator(_me(), circle):
        abort(404)
    return circle


def _meeting(meeting_id: int) -> CircleMeeting:
    return get_object_or_404(CircleMeeting, CircleMeeting.id == meeting_id)


def _post_action(action, post_id: int, message: str, target: str):
    """Do a post's button (report, remove, approve, hide, keep); 404 if the post is not the user's to act on."""
    require_button()
    try:
        action(post_id)
    except board.NotYours:
        abort(404)
    except Invalid as error:
        flash(next(iter(error.fields.values())), "error")
        return redirect(target)
    flash(message, "success")
    return redirect(target)


def _back(default: str) -> str:
    """The page a post's button was on (its `next` field), a path on this site; else `default`."""
    return safe_path(request.form.get("next"), default)


# --------------------------------------------------------------------------- patients


@bp.route("/circles")
@patients_only
def index():
    """The circles a patient may join, theirs first."""
    me = _me()
    circles = list(membership.visible(me).order_by(Circle.title))
    mine = {m.circle_id: m for m in membership.mine(me)}
    now = utcnow()
    return render_template(
        "circles/index.html",
        mine=[c for c in circles if c.id in mine],
        others=[c for c in circles if c.id not in mine],
        members=mine,
        counts=membership.counts(circles),
        next_of={c.id: organise.next_meeting(c, now) for c in circles},
    )


@bp.route("/circles/<int:circle_id>")
@patients_only
def circle(circle_id):
    """A circle: what it is, when and where it meets, joining or leaving, and its board for members."""
    return _circle_page(_open_circle(circle_id))


def _circle_page(circle: Circle, *, errors: dict | None = None, values: dict | None = None, status: int = 200):
    me = _me()
    member = membership.membership(circle, me)
    role = board.reader(circle, me)
    page = render_template(
        "circles/circle.html",
        circle=circle,
        member=member,
        in_circle=role == "member",
        meetings=list(organise.upcoming(circle)),
        coming=membership.count(circle),
        threads=board.threads(circle, me, role) if role else [],
        errors=errors or {},
        values=values or {},
        zone=me.timezone,
        fresh_id=board.new_client_id,
    )
    return page, status


@bp.route("/circles/<int:circle_id>/join", methods=["POST"])
@patients_only
def join(circle_id):
    circle = _open_circle(circle_id)
    require_button()
    try:
        member = membership.join(
            circle, _me(), request.form.get("display_name"), real_name_ok=request.form.get("real_name_ok") == "y"
        )
    except Invalid as error:
        return _circle_page(circle, errors=error.fields, values=request.form, status=422)
    flash(f"You joined {circle.title} as {member.display_name}. You will be reminded before it meets.", "success")
    return redirect(url_for("circles.circle", circle_id=circle.id))


@bp.route("/circles/<int:circle_id>/leave", methods=["POST"])
@patients_only
def leave(circle_id):
    circle = _open_circle(circle_id)
    member = get_object_or_404(
        CircleMember, CircleMember.circle == circle, CircleMember.patient == _me(), CircleMember.status == MEMBER
    )
    return button(
        lambda: membership.leave(member),
        f"You left {circle.title}. You can join again while it has places.",
        url_for("circles.index"),
    )


@bp.route("/circles/<int:circle_id>/calendar.ics")
@patients_only
def calendar_file(circle_id):
    """The circle's meetings for the member's own calendar."""
    circle = _open_circle(circle_id)
    if not membership.is_member(circle, _me()):
        abort(404)
    page = external_url("circles.circle", circle_id=circle.id)
    body = calendar.ics(circle, request.host.split(":")[0] or "aftercare", page)
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="circle-{circle.id}.ics"'},
    )


@bp.route("/circles/<int:circle_id>/posts", methods=["POST"])
@signed_in
def write(circle_id):
    """Post or reply on a board: a member, on the circle's page; the facilitator, on the staff page."""
    me = _me()
    circle = _staff_circle(circle_id)
    role = board.reader(circle, me)
    if role is None:
        abort(404)
    try:
        post, held = board.write(circle, me, request.form)
    except board.NotYours:
        abort(404)
    except Invalid as error:
        if role == "facilitator":
            return _manage_page(circle, errors=error.fields, values=request.form, status=422)
        return _circle_page(circle, errors=error.fields, values=request.form, status=422)
    if held:
        # CLIN-04: help first. The post is kept for the patient's own clinician, not the circle.
        flash(
            "Your post was not put on the board. Your clinician will read it. If you are struggling, "
            "please reach out to someone now.",
            "info",
        )
        return redirect(url_for("patient.support"))
    if role == "facilitator":
        flash("Posted.", "success")
        return redirect(url_for("circles.manage", circle_id=circle.id) + "#board")
    if post.status == "waiting":
        flash("Thank you. Your first posts wait for the facilitator, who will put them on the board soon.", "success")
    else:
        flash("Posted.", "success")
    return redirect(url_for("circles.circle", circle_id=circle.id) + "#board")


@bp.route("/circles/posts/<int:post_id>/report", methods=["POST"])
@patients_only
def report(post_id):
    me = _me()
    target = _back(url_for("circles.index"))
    require_button()
    try:
        new = board.report(post_id, me, request.form.get("reason"))
    except board.NotYours:
        abort(404)
    flash(
        "Thank you. The facilitator will look at this post." if new else "You reported this post already.",
        "success",
    )
    return redirect(target)


@bp.route("/circles/posts/<int:post_id>/remove", methods=["POST"])
@signed_in
def withdraw(post_id):
    me = _me()
    return _post_action(lambda pid: board.withdraw(pid, me), post_id, "Your post was removed.", _back("/circles"))


# --------------------------------------------------------------------------- staff


@bp.route("/staff/circles")
@staff_only
def staff_index():
    """Every circle the clinic runs: the ones a clinician leads first, with what waits for them."""
    me = _me()
    circles = list(Circle.select().where(Circle.closed_at.is_null()).order_by(Circle.title))
    now = utcnow()
    return render_template(
        "circles/staff_index.html",
        circles=circles,
        counts=membership.counts(circles),
        next_of={c.id: organise.next_meeting(c, now) for c in circles},
        queue=board.queue_sizes([c for c in circles if organise.is_facilitator(me, c)]),
    )


@bp.route("/staff/circles/new", methods=["GET", "POST"])
@staff_only
def new():
    """Start a circle: its name, who leads it, where it meets, how many may join, who may see it."""
    me = _me()
    if request.method == "POST":
        try:
            circle = organise.create(request.form, by=me)
        except Invalid as error:
            return _details_page(errors=error.fields, values=request.form), 422
        flash("Circle started. Add its meetings below.", "success")
        return redirect(url_for("circles.manage", circle_id=circle.id) + "#meetings")
    facilitator = me.id if me.role == CLINICIAN else ""
    return _details_page(values={"mode": "in_person", "audience": "all", "capacity": "10", "facilitator": facilitator})


def _details_page(*, errors=None, values=None):
    return render_template(
        "circles/new.html",
        errors=errors or {},
        values=values or {},
        facilitators=list(organise.facilitators()),
        modes=CIRCLE_MODES,
        audiences=CIRCLE_AUDIENCES,
    )


@bp.route("/staff/circles/<int:circle_id>")
@staff_only
def manage(circle_id):
    """A circle for staff: the facilitator runs it and reads its board; other staff see its meetings and attendance."""
    return _manage_page(_staff_circle(circle_id))


def _manage_page(circle: Circle, *, errors=None, values=None, status: int = 200):
    me = _me()
    facilitating = organise.is_facilitator(me, circle)
    now = utcnow()
    members = list(organise.members(circle))
    past = list(organise.past(circle, now).limit(6))
    own = {p.id for p in me.patients()} if me.role == CLINICIAN else set()
    page = render_template(
        "circles/manage.html",
        circle=circle,
        facilitating=facilitating,
        may_run=organise.may_run(me, circle),
        members=members,
        meetings=list(organise.upcoming(circle, now)),
        past=[(meeting, organise.attendance_of(meeting)) for meeting in past],
        own_patients=[m for m in members if m.patient_id in own],
        invitable=list(organise.invitable(me)) if circle.audience == INVITED_ONLY else [],
        invited={i.patient_id for i in circle.invites},
        threads=board.threads(circle, me, "facilitator") if facilitating else [],
        queue=board.queue(circle) if facilitating else None,
        facilitators=list(organise.facilitators()),
        modes=CIRCLE_MODES,
        audiences=CIRCLE_AUDIENCES,
        errors=errors or {},
        values=values or {},
        clinic_zone=organise.clinic_zone(),
        fresh_id=board.new_client_id,
        is_admin=me.role == ADMIN,
    )
    return page, status


@bp.route("/staff/circles/<int:circle_id>/edit", methods=["POST"])
@staff_only
def edit(circle_id):
    circle = _running(circle_id)
    try:
        organise.change(circle, request.form, by=_me())
    except Invalid as error:
        return _manage_page(circle, errors=error.fields, values=request.form, status=422)
    flash("Circle changed.", "success")
    return redirect(url_for("circles.manage", circle_id=circle.id))


@bp.route("/staff/circles/<int:circle_id>/close", methods=["POST"])
@staff_only
def close(circle_id):
    circle = _running(circle_id)
    return button(
        lambda: organise.close(circle, by=_me()),
        f"{circle.title} is closed. Its members were told of any meeting it cancelled.",
        url_for("circles.staff_index"),
    )


@bp.route("/staff/circles/<int:circle_id>/meetings", methods=["POST"])
@staff_only
def add_meeting(circle_id):
    circle = _running(circle_id)
    try:
        organise.add_meeting(circle, request.form, by=_me())
    except Invalid as error:
        return _manage_page(circle, errors=error.fields, values=request.form, status=422)
    flash("Meeting added. Members will be reminded a day and an hour before.", "success")
    return redirect(url_for("circles.manage", circle_id=circle.id) + "#meetings")


@bp.route("/staff/circles/meetings/<int:meeting_id>/move", methods=["POST"])
@staff_only
def move_meeting(meeting_id):
    meeting = _meeting(meeting_id)
    circle = _running(meeting.circle_id)
    try:
        organise.move_meeting(meeting, request.form, by=_me())
    except Invalid as error:
        return _manage_page(circle, errors={f"move-{meeting.id}": next(iter(error.fields.values()))}, status=422)
    flash("Meeting moved. Members were told.", "success")
    return redirect(url_for("circles.manage", circle_id=circle.id) + "#meetings")


@bp.route("/staff/circles/meetings/<int:meeting_id>/cancel", methods=["POST"])
@staff_only
def cancel_meeting(meeting_id):
    meeting = _meeting(meeting_id)
    circle = _running(meeting.circle_id)
    require_button()
    try:
        organise.cancel_meeting(meeting, by=_me())
    except Invalid as error:
        flash(next(iter(error.fields.values())), "error")
    else:
        flash("Meeting cancelled. Members were told.", "success")
    return redirect(url_for("circles.manage", circle_id=circle.id) + "#meetings")


@bp.route("/staff/circles/<int:circle_id>/invite", methods=["POST"])
@staff_only
def invite(circle_id):
    """Invite patients to a circle only invited patients see: a clinician their own, an administrator anyone."""
    circle = _staff_circle(circle_id)
    if circle.audience != INVITED_ONLY or circle.closed_at is not None:
        abort(404)
    try:
        added = organise.invite(circle, request.form.getlist("patients"), by=_me())
    except Invalid as error:
        return _manage_page(circle, errors=error.fields, status=422)
    flash(
        f"{added} patient{'s' if added != 1 else ''} invited. They will find the circle under More → Circles.",
        "success",
    )
    return redirect(url_for("circles.manage", circle_id=circle.id) + "#invite")


@bp.route("/staff/circles/meetings/<int:meeting_id>/attendance", methods=["POST"])
@staff_only
def attendance(meeting_id):
    meeting = _meeting(meeting_id)
    circle = _facilitating(meeting.circle_id)
    require_button()
    try:
        came = organise.mark_attendance(meeting, request.form.getlist("came"), by=_me())
    except Invalid as error:
        flash(next(iter(error.fields.values())), "error")
    else:
        when = to_local(meeting.starts_at, meeting.zone)
        flash(f"Attendance saved for {when:%-d %B}: {came} came.", "success")
    return redirect(url_for("circles.manage", circle_id=circle.id) + "#attendance")


@bp.route("/staff/circles/<int:circle_id>/members/<int:member_id>/remove", methods=["POST"])
@staff_only
def remove_member(circle_id, member_id):
    circle = _facilitating(circle_id)
    member = get_object_or_404(
        CircleMember, CircleMember.id == member_id, CircleMember.circle == circle, CircleMember.status == MEMBER
    )
    return button(
        lambda: organise.remove_member(member, by=_me()),
        f"{member.display_name} was taken out of the circle.",
        url_for("circles.manage", circle_id=circle.id) + "#members",
    )


def _moderate(action, post_id: int, message: str):
    me = _me()
    return _post_action(lambda pid: action(pid, me), post_id, message, _back("/staff/circles"))


@bp.route("/staff/circles/posts/<int:post_id>/approve", methods=["POST"])
@staff_only
def approve(post_id):
    return _moderate(board.approve, post_id, "The post is on the board. This member's next posts go straight up.")


@bp.route("/staff/circles/posts/<int:post_id>/hide", methods=["POST"])
@staff_only
def hide(post_id):
    return _moderate(board.hide, post_id, "The post is hidden from the circle.")


@bp.route("/staff/circles/posts/<int:post_id>/keep", methods=["POST"])
@staff_only
def keep(post_id):
    return _moderate(board.keep, post_id, "The reports are settled; the post stays on the board.")
