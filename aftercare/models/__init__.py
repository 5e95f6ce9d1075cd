"""Every peewee model, one module per area; import them from here."""

from .accounts import CareRelationship
from .accounts import ClinicSetting
from .accounts import CODE_ALPHABET
from .accounts import Invite
from .accounts import LoginThrottle
from .accounts import normalize_code
from .accounts import normalize_email
from .accounts import PasswordReset
from .accounts import RecoveryCode
from .accounts import SecurityNotice
from .accounts import User
from .accounts import WebSession
from .audit import ACCESS_ACTIONS
from .audit import ACCOUNT_ACTIONS
from .audit import ADMIN_VISIBLE
from .audit import AuditEvent
from .audit import AuditHead
from .audit import AuditSeal
from .audit import GENESIS
from .audit import SECURITY_ACTIONS
from .base import ADMIN
from .base import BaseModel
from .base import CLINICIAN
from .base import PATIENT
from .base import payload_hash
from .base import ROLES
from .base import STAFF
from .base import token_hash
from .base import utcnow
from .circles import Circle
from .circles import CIRCLE_AUDIENCES
from .circles import CIRCLE_MODES
from .circles import CircleAttendance
from .circles import CircleInvite
from .circles import CircleMeeting
from .circles import CircleMember
from .circles import CirclePost
from .circles import EVERY_PATIENT
from .circles import HELD
from .circles import HIDDEN
from .circles import IN_PERSON
from .circles import INVITED_ONLY
from .circles import LEFT
from .circles import MEETING_CANCELLED
from .circles import MEETING_SCHEDULED
from .circles import MEMBER
from .circles import ONLINE
from .circles import PostReport
from .circles import REMOVED
from .circles import SHOWN
from .circles import WAITING
from .circles import WITHDRAWN
from .intake import Guide
from .intake import Intake
from .intake import IntakeForm
from .journey import CANCELLED
from .journey import COMPLETED
from .journey import DOSING_KINDS
from .journey import IMAGE_KINDS
from .journey import Intention
from .journey import JournalEntry
from .journey import JournalImage
from .journey import NO_SHOW
from .journey import Playlist
from .journey import PLAYLIST_PURPOSES
from .journey import Practice
from .journey import PRACTICE_KINDS
from .journey import SCHEDULED
from .journey import SESSION_KINDS
from .journey import SESSION_STATUSES
from .journey import Track
from .journey import TreatmentSession
from .journey import VoiceNote
from .reminders import CANCELLED as REMINDER_CANCELLED
from .reminders import DELIVERED
from .reminders import Delivery
from .reminders import Device
from .reminders import EXPIRED as REMINDER_EXPIRED
from .reminders import FAILED as REMINDER_FAILED
from .reminders import GONE
from .reminders import PLANNED as REMINDER_PLANNED
from .reminders import REFUSED
from .reminders import Reminder
from .reminders import ReminderText
from .reminders import RETRY
from .reminders import SENT as REMINDER_SENT
from .reminders import UNDELIVERABLE
from .selfreports import BASELINE
from .selfreports import CheckIn
from .selfreports import LATEST
from .selfreports import MONTH3
from .selfreports import MoodDay
from .selfreports import MoodEntry
from .selfreports import MoodMonth
from .selfreports import MoodMonthSeal
from .selfreports import MoodMonthSession
from .selfreports import MoodWindow
from .selfreports import NEWEST
from .selfreports import PREVIOUS
from .selfreports import SafetyAlert
from .selfreports import ScorePoint
from .selfreports import SERIES_POINTS
from .selfreports import WINDOW_72H
from .selfreports import window_bucket
from .selfreports import WINDOW_BUCKETS
from .selfreports import WINDOW_EDGES

MODELS = [
    User,
    CareRelationship,
    Invite,
    WebSession,
    LoginThrottle,
    PasswordReset,
    RecoveryCode,
    SecurityNotice,
    ClinicSetting,
    AuditHead,
    AuditSeal,
    AuditEvent,
    MoodEntry,
    MoodDay,
    CheckIn,
    SafetyAlert,
    Playlist,
    Track,
    TreatmentSession,
    Intention,
    Practice,
    JournalEntry,
    JournalImage,
    VoiceNote,
    Device,
    Reminder,
    Delivery,
    ReminderText,
    MoodWindow,
    MoodMonth,
    MoodMonthSession,
    MoodMonthSeal,
    ScorePoint,
    IntakeForm,
    Intake,
    Guide,
    Circle,
    CircleMeeting,
    CircleInvite,
    CircleMember,
    CircleAttendance,
    CirclePost,
    PostReport,
]

__all__ = [
    "BASELINE",
    "MONTH3",
    "NEWEST",
    "LATEST",
    "PREVIOUS",
    "ScorePoint",
    "SERIES_POINTS",
    "WINDOW_72H",
    "WINDOW_BUCKETS",
    "WINDOW_EDGES",
    "window_bucket",
    "ACCESS_ACTIONS",
    "ACCOUNT_ACTIONS",
    "ADMIN",
    "ADMIN_VISIBLE",
    "AuditEvent",
    "AuditHead",
    "AuditSeal",
    "BaseModel",
    "CANCELLED",
    "CLINICIAN",
    "CODE_ALPHABET",
    "COMPLETED",
    "CareRelationship",
    "CheckIn",
    "DELIVERED",
    "Delivery",
    "GONE",
    "REFUSED",
    "REMINDER_CANCELLED",
    "REMINDER_EXPIRED",
    "REMINDER_FAILED",
    "REMINDER_PLANNED",
    "REMINDER_SENT",
    "RETRY",
    "UNDELIVERABLE",
    "Device",
    "ClinicSetting",
    "DOSING_KINDS",
    "GENESIS",
    "Guide",
    "Intake",
    "IntakeForm",
    "IMAGE_KINDS",
    "Intention",
    "Invite",
    "JournalEntry",
    "JournalImage",
    "LoginThrottle",
    "MoodDay",
    "MoodEntry",
    "MoodWindow",
    "MoodMonth",
    "MoodMonthSession",
    "MoodMonthSeal",
    "NO_SHOW",
    "PATIENT",
    "PLAYLIST_PURPOSES",
    "PRACTICE_KINDS",
    "PasswordReset",
    "Playlist",
    "Practice",
    "ROLES",
    "RecoveryCode",
    "Reminder",
    "ReminderText",
    "SecurityNotice",
    "SCHEDULED",
    "SECURITY_ACTIONS",
    "SESSION_KINDS",
    "SESSION_STATUSES",
    "STAFF",
    "SafetyAlert",
    "Track",
    "TreatmentSession",
    "User",
    "VoiceNote",
    "WebSession",
    "normalize_code",
    "normalize_email",
    "payload_hash",
    "token_hash",
    "utcnow",
    "Circle",
    "CircleAttendance",
    "CircleInvite",
    "CircleMeeting",
    "CircleMember",
    "CirclePost",
    "PostReport",
    "CIRCLE_AUDIENCES",
    "CIRCLE_MODES",
    "EVERY_PATIENT",
    "HELD",
    "HIDDEN",
    "IN_PERSON",
    "INVITED_ONLY",
    "LEFT",
    "MEETING_CANCELLED",
    "MEETING_SCHEDULED",
    "MEMBER",
    "ONLINE",
    "REMOVED",
    "SHOWN",
    "WAITING",
    "WITHDRAWN",
    "MODELS",
]
