"""The words and shapes mail clients put around quoted material, in the languages
members' clients write them: Swedish (Sweden and Finland), English, Danish,
Norwegian, Finnish, and the German, French, Dutch and Polish forms the real
corpus holds. Only patterns live here; :mod:`daemon.mail.replies` uses them.

Each group was added for a shape in ``tests/corpus/replies`` or
``tests/corpus/real-replies`` that was read wrongly without it.
"""

from __future__ import annotations

import re

QUOTED = re.compile(r"^\s*>")
UNQUOTE = re.compile(r"^(\s*>)+ ?")

# Reply-header blocks: "Från:/Skickat:/Till:/Ämne:", "Fra:/Sendt:/Til:/Emne:", "Lähettäjä:/Lähetetty:",
# "Von:/Gesendet:", "De :/Envoyé :", "Van:/Verzonden:", "Od:/Wysłano:" (French puts a space before the colon).
_FROM = r"från|from|fra|von|de|van|od|lähettäjä"
_FIRST = _FROM + r"|ämne|subject|emne|betreff|objet|onderwerp|temat|aihe|datum|date|dato|päivämäärä"
_OTHER = (r"skickat|sent|sendt|gesendet|envoyé|verzonden|wysłano|lähetetty|till|to|til|an|à|aan|do|vastaanottaja"
          r"|kopia|cc|bcc|kopi|kopio|svara till|reply-to")
HEADER_LINE = re.compile(rf"^[* ]*({_FIRST}|{_OTHER})[* ]*\s?:", re.IGNORECASE)
HEADER_FIRST = re.compile(rf"^[* ]*({_FIRST})[* ]*\s?:", re.IGNORECASE)
# One "From: address" line on its own, as some clients quote the original.
LONE_FROM = re.compile(rf"^[* ]*({_FROM})[* ]*\s?:\s*\S+@\S+\s*$", re.IGNORECASE)

# Separator lines.
_SEPARATOR_WORDS = (
    r"ursprungligt meddelande|original message|vidarebefordrat meddelande|forwarded message|oprindelig meddelelse"
    r"|original meddelelse|opprinnelig melding|videresendt meddelelse|videresendt melding|alkuperäinen viesti"
    r"|välitetty viesti|ursprüngliche nachricht|weitergeleitete nachricht|message d'origine|message transféré"
    r"|oorspronkelijk bericht|doorgestuurd bericht")
SEPARATORS = re.compile(
    rf"^(-{{2,}}\s*({_SEPARATOR_WORDS})\s*-{{2,}}"
    r"|(vidarebefordrat brev|begin forwarded message|forwarded message|start på vidarebefordrat meddelande"
    r"|videresendt meddelelse|videresendt melding|start på videresendt (meddelelse|melding)):"
    r"|_{10,})\s*$",
    re.IGNORECASE,
)
HTML_RULE = re.compile(r"^\s*(\* ?){3}\s*$")  # html2text's <hr>: a separator when a header block follows

# Attributions ("Den … skrev:", "On … wrote:"), in the languages the corpus holds.
_VERBS = (r"skrev|wrote|sent|schrieb|a écrit|escribió|scrisse|geschreven|schreef|napisał|написал|kirjoitti"
          r"|đã viết")
ATTRIBUTION = re.compile(rf"^.{{0,250}}\b({_VERBS})\b[^\n]{{0,250}}:$", re.IGNORECASE)
# Strong enough to stand without a quote below it: it opens like an attribution, names a time
# ("10:00", "2:02pm") and ends with the verb ("Den 1 dec. 2026 kl. 10:00 skrev Anna <a@b.se>:").
STRONG_ATTRIBUTION = re.compile(
    rf"^(on|den|på|am|le|op|el|il|w dniu|\d{{1,4}}[./-])\b.{{0,250}}\b\d{{1,2}}[:.]\d{{2}}.{{0,250}}"
    rf"\b({_VERBS})\b( følgende| the following| het volgende| folgendes|.{{0,120}}:)?\s*:?$",
    re.IGNORECASE,
)
# Any language: a date, a name and an address, then ":" or nothing ("2011/4/7 Nathan <n@example.com>",
# "02.04.2012 14:20 пользователь <bob@example.com> написал:"), directly above quoted text.
ADDRESS_ATTRIBUTION = re.compile(r"^.{0,200}\d.{0,200}[<(\[]?[\w.+-]+@[\w-]+(\.[\w-]+)+[>)\]]?.{0,60}?(:|>)$")
# "---- Anna wrote ----" (Android), "------On 1/12 10:00, Anna wrote-----".
DASHED_ATTRIBUTION = re.compile(rf"^-{{2,}}\s*(.{{1,250}}\b({_VERBS}))\s*:?\s*-{{2,}}$", re.IGNORECASE)
# Text and attribution on one line: "Tillstyrker. Den … skrev …:", "reply--- On … wrote:".
SHARED_LINE = re.compile(rf"^(?P<text>.*?\S)-*\s+(?P<attr>(on|den|am)\s.{{5,250}}\b({_VERBS}):)$", re.IGNORECASE)
# Where a wrapped attribution may begin (its first line).
ATTRIBUTION_OPENING = re.compile(rf"\b({_VERBS}|den|on|på|am|le|op|w dniu)\b|<$|^\d{{1,4}}[./-]\d", re.IGNORECASE)

# Sign-offs: a short line on its own.
SIGN_OFFS = re.compile(
    r"^((med\s+)?vänlig(a)?\s+hälsning(ar)?|(bästa|många|varma)\s+hälsningar|hälsning(ar)?|hälsar|mvh|vh|vänligen"
    r"|ha det (bra|gott)|trevlig helg|tack på förhand"
    r"|(med\s+)?venlig(st)?\s+hilsen|(med\s+)?vennlig(st)?\s+hilsen|de bedste hilsner|bedste hilsner|hilsen"
    r"|ystävällisin terveisin|parhain terveisin|terveisin"
    r"|best regards|kind regards|regards|best wishes|cheers)\b[ ,.!]*",
    re.IGNORECASE,
)
THANKS = re.compile(r"^(thank you|thanks|many thanks|tack|tusen tack|stort tack|tak|takk|kiitos)[ ,.!]*$", re.IGNORECASE)
FOOTERS = re.compile(
    r"^(skickat från (min|mitt|outlook|samsung|yahoo|mail)|sent from (my|outlook|mail|samsung)|(hämta|skaffa) outlook för"
    r"|get outlook for|skickat via|sent via|sendt fra (min|mit|outlook)|hent outlook til|få outlook for"
    r"|lähetetty (iphonesta|ipadista|outlookista)|lähetetty .{0,20}laitteesta)\b",
    re.IGNORECASE,
)
SLASH_NAME = re.compile(r"^/{1,2}\s?[A-ZÅÄÖÉÆØ][\wåäöéæøÅÄÖÉÆØ\-]*(\s[A-ZÅÄÖÉÆØ][\wåäöéæø\-]*)?\s*$")
DASH_LINE = re.compile(r"^\s*[-_]{8,}\s*$")
TITLED_DASH_LINE = re.compile(r"^\s*-{3,}\s*\w.*\w\s*-{3,}\s*$")  # "---- Enter Feedback Below ----": not a signature
# A piece of a quoted line that the client wrapped without its ">": a URL or code fragment, no words.
QUOTE_DEBRIS = re.compile(r"^\s*(\(?https?://\S+\)?|[^\s]*[=/_)(][^\s]*)\s*[>)]?\s*$")
GREETING = re.compile(r"^(hej|hejsan|hallå|hei|hejhej|god (morgon|dag|eftermiddag)|hi|hello|dear)\b[^.!?]{0,40}[,!.]?$",
                      re.IGNORECASE)
INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"), None)
MAX_SIGN_OFF = 40  # a sign-off is a short line; a longer one is part of the comment
