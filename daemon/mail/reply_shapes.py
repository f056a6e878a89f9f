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
_FROM = r"från|from|fra|von|de|van|od|da|lähettäjä"
_FIRST = (_FROM + r"|ämne|subject|emne|betreff|objet|sujet|onderwerp|oggetto|temat|aihe|datum|date|dato|päivämäärä"
          r"|message du")
_OTHER = (r"skickat|sent|sendt|gesendet|envoyé|envoyé le|verzonden|inviato|wysłano|lähetetty|till|to|til|an|à|a|aan"
          r"|do|vastaanottaja|kopia|cc|bcc|kopi|kopio|copie à|svara till|reply-to")
HEADER_LINE = re.compile(rf"^[* ]*({_FIRST}|{_OTHER})[* ]*\s?:", re.IGNORECASE)
HEADER_FIRST = re.compile(rf"^[* ]*({_FIRST})[* ]*\s?:", re.IGNORECASE)
HEADER_FROM = re.compile(rf"^[* ]*({_FROM})[* ]*\s?:", re.IGNORECASE)
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
_VERBS = (r"skrev|wrote|sent|schrieb|a écrit|escribió|escreveu|scrisse|ha scritto|geschreven|schreef|napisał"
          r"|napisał\(a\)|написал|kirjoitti|írta|đã viết")
# Weekdays as clients abbreviate them at the start of an attribution ("tir. 18. apr.", "pe 20. lokakuuta").
_WEEKDAY = (r"mån|tis|ons|tors?|fre|lör|sön|man|tir|tirs|fre|lør|søn|ma|ti|ke|to|pe|la|su|mon|tue|wed|thu|fri|sat|sun"
            r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday")
ATTRIBUTION = re.compile(rf"^.{{0,250}}\b({_VERBS})\b[^\n]{{0,250}}:$", re.IGNORECASE)
# Strong enough to stand without a quote below it: it opens like an attribution, names a time
# ("10:00", "2:02pm") and ends with the verb ("Den 1 dec. 2026 kl. 10:00 skrev Anna <a@b.se>:").
STRONG_ATTRIBUTION = re.compile(
    rf"^(on|den|på|am|le|op|el|il|em|w dniu|dnia|({_WEEKDAY})\.?,?(?=\s+\d)|\d{{1,4}}[./-])(\s|\b).{{0,250}}\b\d{{1,2}}[:.]\d{{2}}.{{0,250}}"
    rf"\b({_VERBS})\b( følgende| the following| het volgende| folgendes|.{{0,120}}:)?\s*:?$",
    re.IGNORECASE,
)
# Any language: a date, a name and an address, then ":" or nothing ("2011/4/7 Nathan <n@example.com>",
# "02.04.2012 14:20 пользователь <bob@example.com> написал:"), directly above quoted text.
ADDRESS_ATTRIBUTION = re.compile(r"^.{0,200}\d.{0,200}[<(\[]?[\w.+-]+@[\w-]+(\.[\w-]+)+[>)\]]?.{0,60}?(:|>)$")
# Strong enough without a quote below: it opens with a date, a time or a weekday and ends with an address and ":"
# ("30.09.2017, 18.30, "Anna" <a@b.se>:", "2017-11-24 16:32 GMT+01:00 Anna <a@b.se>:").
DATED_ADDRESS_ATTRIBUTION = re.compile(
    rf"^(\d{{1,4}}[./-]\d{{1,2}}[./-]\d{{1,4}}|\d{{1,2}}[:.]\d{{2}}|({_WEEKDAY}),).{{0,200}}"
    r"[<(\[][\w.+-]+@[\w-]+(\.[\w-]+)+[>)\]]\s*:$", re.IGNORECASE)
# A dated line ending in ":" right above quoted text, in any language ("2013.02.08. 7:31 keltezéssel, "Anna" írta:").
DATED_LINE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\.?\s.{0,200}:$")
# "---- Anna wrote ----" (Android), "------On 1/12 10:00, Anna wrote-----".
DASHED_ATTRIBUTION = re.compile(rf"^-{{2,}}\s*(.{{1,250}}\b({_VERBS}))\s*:?\s*-{{2,}}$", re.IGNORECASE)
# Text and attribution on one line: "Tillstyrker. Den … skrev …:", "reply--- On … wrote:".
SHARED_LINE = re.compile(rf"^(?P<text>.*?\S)-*\s+(?P<attr>(on|den|am)\s.{{5,250}}\b({_VERBS}):)$", re.IGNORECASE)
# The verb left alone on the last line of a wrapped attribution ("> wrote:").
VERB_LINE = re.compile(rf"^(>\s*)*({_VERBS})\s*:?$", re.IGNORECASE)
# Where a wrapped attribution may begin (its first line).
ATTRIBUTION_OPENING = re.compile(rf"\b({_VERBS}|den|on|på|am|le|op|il|em|w dniu)\b|[<(]$|^\d{{1,4}}[./-]\d"
                                 r"|\b\d{1,2}[:.]\d{2}\b", re.IGNORECASE)

# Sign-offs: a short line on its own.
SIGN_OFFS = re.compile(
    r"^((med\s+)?vänlig(a)?\s+hälsning(ar)?|(bästa|många|varma)\s+hälsningar|hälsning(ar)?|hälsar|mvh|vh|vänligen"
    r"|ha det (bra|gott)|trevlig helg|tack på förhand"
    r"|(med\s+)?venlig(st)?\s+hilsen|(med\s+)?vennlig(st)?\s+hilsen|de bedste hilsner|bedste hilsner|hilsen"
    r"|ystävällisin terveisin|parhain terveisin|terveisin"
    r"|best regards|kind regards|regards|best wishes|cheers|sincerely|yours sincerely|yours truly)\b[ ,.!]*",
    re.IGNORECASE,
)
# "Thanks," on its own: a sign-off when only a name or a title follows it.
THANKS = re.compile(r"^(thank you|thanks|many thanks|tack|tusen tack|stort tack|tak|takk|kiitos)[ ,.!]*$", re.IGNORECASE)
# Mobile footers: the whole line ("Sent from my desk, is much easier…" is a sentence, not a footer).
FOOTERS = re.compile(
    r"^((skickat från|sent from|sendt fra|skickat via|sent via|sent with|lähetetty) [^,]{1,55}"
    r"|((hämta|skaffa) outlook för|get outlook for|hent outlook til|få outlook for) [^,]{1,60})$",
    re.IGNORECASE,
)
SLASH_NAME = re.compile(r"^(/{1,2}\s?|-)[A-ZÅÄÖÉÆØ][\wåäöéæøÅÄÖÉÆØ\-]*(\s[A-ZÅÄÖÉÆØ][\wåäöéæø\-]*)?\s*$")
DASH_LINE = re.compile(r"^\s*[-_]{8,}\s*$")
TITLED_DASH_LINE = re.compile(r"^\s*-{3,}\s*\w.*\w\s*-{3,}\s*$")  # "---- Enter Feedback Below ----": not a signature
# A piece of a quoted line that the client wrapped without its ">": a URL or code fragment, no words.
QUOTE_DEBRIS = re.compile(r"^\s*(\(?https?://\S+\)?|[^\s]*[=/_)(][^\s]*)\s*[>)]?\s*$")
GREETING = re.compile(r"^(hej|hejsan|hallå|hei|hejhej|god (morgon|dag|eftermiddag)|hi|hello|dear)\b[^.!?]{0,40}[,!.]?$",
                      re.IGNORECASE)
INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"), None)
MAX_SIGN_OFF = 40  # a sign-off is a short line; a longer one is part of the comment
