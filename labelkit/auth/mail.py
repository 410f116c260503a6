"""Mail through the company's SMTP server (LABELKIT_SMTP_*): invite links, password-reset
links and address confirmations. Without LABELKIT_SMTP_HOST nothing is mailed and links
are handed over by hand, as before.

Callers send after their transaction has committed, so a mailed link always works; a
failure raises MailNotSent, and the caller still shows the link to whoever made it."""

from __future__ import annotations

import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid

from labelkit.errors import LabelkitError
from labelkit.settings import get_settings

TIMEOUT_SECONDS = 15


class MailNotSent(LabelkitError):
    """The SMTP server could not be reached or refused the mail; the message says why."""


def mail_configured() -> bool:
    return bool(get_settings().smtp_host)


def send_mail(to: str, subject: str, body: str) -> None:
    """Send one plain-text mail, or raise MailNotSent naming the reason."""
    settings = get_settings()
    if not settings.smtp_host:
        raise MailNotSent("Mail is not set up on this portal (LABELKIT_SMTP_HOST): send the link yourself.")
    sender = settings.smtp_from or settings.smtp_user or f"labelkit@{settings.smtp_host}"
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1] or None)
    message.set_content(body)
    try:
        _deliver(message)
    except (OSError, smtplib.SMTPException) as e:
        raise MailNotSent(
            f"The mail to {to} could not be sent ({_reason(e)}) through {settings.smtp_host}:{settings.smtp_port}."
        ) from None


def _deliver(message: EmailMessage) -> None:
    settings = get_settings()
    context = ssl.create_default_context()
    if settings.smtp_port == 465:
        smtp = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_SECONDS, context=context)
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_SECONDS)
    with smtp:
        if settings.smtp_port != 465 and settings.smtp_starttls:
            smtp.starttls(context=context)
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(message)


def _reason(error: Exception) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "the server refused the address"
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return "the server refused LABELKIT_SMTP_USER and LABELKIT_SMTP_PASSWORD"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"the server answered {error.smtp_code} {error.smtp_error.decode(errors='replace')}"
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return "the server does not offer STARTTLS; set LABELKIT_SMTP_STARTTLS=false only on a trusted network"
    return str(error) or type(error).__name__


def send_invite(to: str, link: str, role: str, project_title: str | None, expires_at: datetime) -> None:
    where = f" in the project {project_title}" if project_title else ""
    send_mail(
        to,
        "You're invited to labelkit",
        f"You are invited to labelkit with the {role} role{where}.\n\n"
        f"Open this link to create your account or sign in:\n{link}\n\n"
        f"It works until {expires_at:%Y-%m-%d %H:%M} UTC.\n",
    )


def send_reset(to: str, link: str, expires_at: datetime) -> None:
    send_mail(
        to,
        "Set a new labelkit password",
        "An admin sent you a link to set a new password for your labelkit account.\n\n"
        f"Open it to choose the new password:\n{link}\n\n"
        f"It works once, until {expires_at:%Y-%m-%d %H:%M} UTC. Setting the password signs you out everywhere.\n"
        "If you did not ask for it, tell your admin.\n",
    )


def send_confirmation(to: str, link: str) -> None:
    send_mail(
        to,
        "Confirm your address for labelkit",
        f"Someone opened an invite for {to} and asked to create an account.\n\n"
        f"If it was you, open this link to confirm the address and choose your password:\n{link}\n\n"
        "If it was not you, ignore this mail: no account is made without it.\n",
    )
