"""The deadline plan of every preset, importance and awkward moment, against values worked out by hand from the seeds.

Every expected moment below was computed on paper, not by running the code: the derivation is in the comment
beside it. Common facts used throughout (README «Working time»):

* the working day is 09:00–13:00 and 14:00–18:00 (8 h); a pre-holiday day ends at 17:00 (art. 95): Thu
  30.04.2026, Fri 08.05.2026, and the working Saturday 01.11.2025 (it replaces Mon 03.11, the eve of 4 November);
* 2026: Mon 09.03 is a day off (8 March was a Sunday); Fri 01.05 a holiday, Mon 04.05 works, Mon 11.05 off;
  2025/26: Wed 31.12.2025 and 01–11.01.2026 are days off, Mon 12.01.2026 is the first working day;
  2025: Sat 01.11 works, Sun 02, Mon 03 (transferred) and Tue 04.11 are off;
* hours are added in working time and stop at the end of an interval (13:00, 18:00), never the next opening;
* N working days end at the same point of the working day: the working time elapsed that day at the start (e)
  is reached again on the N-th working day — the *first* such moment, so 13:00 stays 13:00; a start at 18:00
  (or at an opening) counts its working day whole and ends at the end of the N-th day;
* the plan takes each step at the last moment of its window: routed at the routing deadline, accepted then,
  the draft submitted at the draft mark (at routing where there is none), returned at the end of the approval
  window, revised at the end of the revision window, approved at the end of the next approval window, the
  intermediate answer published at the answer deadline; every window ends no later than the answer deadline
  ("a < b" below: a is the window cut to the answer deadline, b where its own term would end).
"""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from bot.domain.incident import Importance
from bot.domain.plan import PlanItem, plan
from bot.domain.presets import get_preset
from bot.domain.workflow import Workflow
from bot.domain.worktime import WorkCalendar

SITUATIONS = {
    "ordinary": "2026-03-10 10:00",  # Tuesday
    "friday": "2026-03-13 15:00",  # Friday afternoon
    "13:00": "2026-03-11 13:00",  # Wednesday, the end of the morning interval
    "18:00": "2026-03-11 18:00",  # Wednesday, the end of the day
    "pre-holiday": "2026-04-30 15:00",  # Thursday before 1 May, a day that ends at 17:00
    "saturday": "2025-11-01 10:00",  # the working Saturday, 09:00–17:00
    "new-year": "2025-12-30 15:00",  # the last working day of 2025
}

# preset -> situation -> plan. Ключи and Удмуртия have one answer term for both importances (Ключи п. 6,
# Удмуртия п. 10): high importance keeps this same plan. Where "high" is given, the seed has a term of its own.
NORMAL: dict[str, dict[str, dict[str, str]]] = {
    "kluchi": {
        # Answer 9 W-h (п. 6); draft 4 h before it (п. 7); revision 1 h (п. 8); final 7 working days (п. 9).
        # No routing, approval or publication term: routed, decided and approved at once.
        "ordinary": {
            "answer": "11.03 11:00",  # Tue 10–13 3h + 14–18 4h = 7h, Wed 09–11 2h
            "draft": "10.03 16:00",  # 11:00 − 2h = Wed 09:00, − 2h = Tue 16:00
            "revision": "10.03 17:00",  # returned at the draft mark 16:00 + 1h
            "final": "20.03 11:00",  # e = 2h on Wed 11.03; 7th working day after: Thu 12 … Fri 20
        },
        "friday": {
            "answer": "16.03 16:00",  # Fri 15–18 3h, Mon 09–13 4h + 14–16 2h
            "draft": "16.03 11:00",  # 16:00 − 2h = 14:00, − 2h = 11:00
            "revision": "16.03 12:00",
            "final": "25.03 16:00",  # Tue 17 (1) … Wed 25 (7)
        },
        "13:00": {
            "answer": "12.03 15:00",  # from 14:00: Wed 4h, Thu 09–13 4h + 14–15 1h
            "draft": "12.03 10:00",  # 15:00 − 1h = 14:00, − 3h = 10:00
            "revision": "12.03 11:00",
            "final": "23.03 15:00",  # e = 5h; Fri 13 (1) … Mon 23 (7)
        },
        "18:00": {
            "answer": "13.03 10:00",  # from Thu 09:00: Thu 8h, Fri 1h
            "draft": "12.03 15:00",  # Fri 10:00 − 1h = 09:00, Thu 18:00 − 3h = 15:00
            "revision": "12.03 16:00",
            "final": "24.03 10:00",  # e = 1h; Mon 16 (1) … Tue 24 (7)
        },
        "pre-holiday": {
            "answer": "04.05 17:00",  # Thu 15–17 2h, Mon 04.05 09–13 4h + 14–17 3h
            "draft": "04.05 12:00",  # 17:00 − 3h = 14:00, − 1h = 12:00
            "revision": "04.05 13:00",
            "final": "14.05 17:00",  # e = 7h; Tue 5, Wed 6, Thu 7, Fri 8, (Mon 11 off) Tue 12, Wed 13, Thu 14
        },
        "saturday": {
            "answer": "05.11 12:00",  # Sat 10–13 3h + 14–17 3h, Wed 05.11 09–12 3h
            "draft": "01.11 16:00",  # Wed 12:00 − 3h = 09:00, Sat 17:00 − 1h = 16:00
            "revision": "01.11 17:00",
            "final": "14.11 12:00",  # e = 3h; Thu 6 (1) … Fri 14 (7)
        },
        "new-year": {
            "answer": "12.01 16:00",  # Tue 30.12 15–18 3h, Mon 12.01 09–13 4h + 14–16 2h
            "draft": "12.01 11:00",  # 16:00 − 2h = 14:00, − 2h = 11:00
            "revision": "12.01 12:00",
            "final": "21.01 16:00",  # e = 6h; Tue 13 (1) … Wed 21 (7)
        },
    },
    "otradnaya": {
        # Routing 30 W-min (п. 10); "not ours" 30 W-min after receipt, re-routing 30 W-min after that (п. 11);
        # clarification question 1 W-h after receipt (п. 13); answer 8 W-h (п. 9); draft 3 W-h before (п. 12);
        # approval 30 W-min (п. 14); revision 1 W-h (п. 15); publication 30 W-min (п. 16); final 7 days (п. 18);
        # each department's part of a joint answer 2 W-h after receipt (п. 19).
        "ordinary": {
            "routing": "10.03 10:30",
            "not_ours": "10.03 11:00",
            "clarification": "10.03 11:30",
            "reroute": "10.03 11:30",
            "answer": "11.03 10:00",  # Tue 3h + 4h, Wed 1h
            "draft": "10.03 16:00",  # Wed 10:00 − 1h = 09:00, Tue 18:00 − 2h = 16:00
            "approval": "10.03 16:30",
            "revision": "10.03 17:30",
            "publication": "11.03 09:30",  # re-approved 18:00, + 30 min = Wed 09:30
            "final": "20.03 10:00",  # e = 1h; Thu 12 (1) … Fri 20 (7)
            "contribution": "10.03 12:30",  # routed 10:30 + 2h
        },
        "friday": {
            "routing": "13.03 15:30",
            "not_ours": "13.03 16:00",
            "clarification": "13.03 16:30",
            "reroute": "13.03 16:30",
            "answer": "16.03 15:00",  # Fri 3h, Mon 4h + 1h
            "draft": "16.03 11:00",  # 15:00 − 1h = 14:00, − 2h = 11:00
            "approval": "16.03 11:30",
            "revision": "16.03 12:30",
            "publication": "16.03 14:30",  # re-approved 13:00, + 30 min after lunch
            "final": "25.03 15:00",  # e = 5h; Tue 17 (1) … Wed 25 (7)
            "contribution": "13.03 17:30",
        },
        "13:00": {
            "routing": "11.03 14:30",  # 13:00 is the end of the morning: from 14:00
            "not_ours": "11.03 15:00",
            "clarification": "11.03 15:30",
            "reroute": "11.03 15:30",
            "answer": "12.03 13:00",  # Wed 14–18 4h, Thu 09–13 4h: stays at 13:00
            "draft": "12.03 10:00",
            "approval": "12.03 10:30",
            "revision": "12.03 11:30",
            "publication": "12.03 12:30",
            "final": "23.03 13:00",  # e = 4h; Fri 13 (1) … Mon 23 (7)
            "contribution": "11.03 16:30",
        },
        "18:00": {
            "routing": "12.03 09:30",
            "not_ours": "12.03 10:00",
            "clarification": "12.03 10:30",
            "reroute": "12.03 10:30",
            "answer": "12.03 18:00",  # Thu 8h: stays at 18:00
            "draft": "12.03 15:00",
            "approval": "12.03 15:30",
            "revision": "12.03 16:30",
            "publication": "12.03 17:30",
            "final": "23.03 18:00",  # from 18:00: Fri 13 is day 1 … Mon 23 day 7, its end
            "contribution": "12.03 11:30",
        },
        "pre-holiday": {
            "routing": "30.04 15:30",
            "not_ours": "30.04 16:00",
            "clarification": "30.04 16:30",
            "reroute": "30.04 16:30",
            "answer": "04.05 16:00",  # Thu 15–17 2h, Mon 4h + 2h
            "draft": "04.05 12:00",  # 16:00 − 2h = 14:00, − 1h = 12:00
            "approval": "04.05 12:30",
            "revision": "04.05 14:30",  # 12:30–13:00, 14:00–14:30
            "publication": "04.05 15:30",  # re-approved 15:00
            "final": "14.05 16:00",  # e = 6h; Tue 5 … Fri 8, Tue 12 … Thu 14
            "contribution": "04.05 09:30",  # Thu 15:30–17:00 1.5h, Mon 0.5h
        },
        "saturday": {
            "routing": "01.11 10:30",
            "not_ours": "01.11 11:00",
            "clarification": "01.11 11:30",
            "reroute": "01.11 11:30",
            "answer": "05.11 11:00",  # Sat 3h + 3h, Wed 2h
            "draft": "01.11 16:00",  # Wed 11:00 − 2h = 09:00, Sat 17:00 − 1h = 16:00
            "approval": "01.11 16:30",
            "revision": "05.11 09:30",  # Sat 16:30–17:00, Wed 09:00–09:30
            "publication": "05.11 10:30",  # re-approved 10:00
            "final": "14.11 11:00",  # e = 2h; Thu 6 (1) … Fri 14 (7)
            "contribution": "01.11 12:30",
        },
        "new-year": {
            "routing": "30.12 15:30",
            "not_ours": "30.12 16:00",
            "clarification": "30.12 16:30",
            "reroute": "30.12 16:30",
            "answer": "12.01 15:00",  # Tue 3h, Mon 12.01 4h + 1h
            "draft": "12.01 11:00",
            "approval": "12.01 11:30",
            "revision": "12.01 12:30",
            "publication": "12.01 14:30",  # re-approved 13:00
            "final": "21.01 15:00",  # e = 5h; Tue 13 (1) … Wed 21 (7)
            "contribution": "30.12 17:30",
        },
    },
    "borovichi": {
        # Routing 30 W-min (п. 7); answer 8 W-h (п. 8); draft 4 W-h before (п. 11); approval 30 W-min (п. 13);
        # revision 1 W-h (п. 14); publication by the curator 30 W-min (п. 15); final 7 days (п. 16).
        "ordinary": {
            "routing": "10.03 10:30",
            "answer": "11.03 10:00",
            "draft": "10.03 15:00",  # Wed 10:00 − 1h, Tue 18:00 − 3h
            "approval": "10.03 15:30",
            "revision": "10.03 16:30",
            "publication": "10.03 17:30",  # re-approved 17:00
            "final": "20.03 10:00",
        },
        "friday": {
            "routing": "13.03 15:30",
            "answer": "16.03 15:00",
            "draft": "16.03 10:00",  # 15:00 − 1h = 14:00, − 3h = 10:00
            "approval": "16.03 10:30",
            "revision": "16.03 11:30",
            "publication": "16.03 12:30",
            "final": "25.03 15:00",
        },
        "13:00": {
            "routing": "11.03 14:30",
            "answer": "12.03 13:00",
            "draft": "12.03 09:00",  # 13:00 − 4h: the opening, where counting back stops
            "approval": "12.03 09:30",
            "revision": "12.03 10:30",
            "publication": "12.03 11:30",
            "final": "23.03 13:00",
        },
        "18:00": {
            "routing": "12.03 09:30",
            "answer": "12.03 18:00",
            "draft": "12.03 14:00",
            "approval": "12.03 14:30",
            "revision": "12.03 15:30",
            "publication": "12.03 16:30",
            "final": "23.03 18:00",
        },
        "pre-holiday": {
            "routing": "30.04 15:30",
            "answer": "04.05 16:00",
            "draft": "04.05 11:00",  # 16:00 − 2h = 14:00, − 2h = 11:00
            "approval": "04.05 11:30",
            "revision": "04.05 12:30",
            "publication": "04.05 14:30",  # re-approved 13:00, after lunch
            "final": "14.05 16:00",
        },
        "saturday": {
            "routing": "01.11 10:30",
            "answer": "05.11 11:00",
            "draft": "01.11 15:00",  # Wed 11:00 − 2h, Sat 17:00 − 2h
            "approval": "01.11 15:30",
            "revision": "01.11 16:30",
            "publication": "05.11 09:30",  # re-approved Sat 17:00, + 30 min on Wednesday
            "final": "14.11 11:00",
        },
        "new-year": {
            "routing": "30.12 15:30",
            "answer": "12.01 15:00",
            "draft": "12.01 10:00",
            "approval": "12.01 10:30",
            "revision": "12.01 11:30",
            "publication": "12.01 12:30",
            "final": "21.01 15:00",
        },
    },
    "petrovsky": {
        # Routing 1 h (п. 5); "not ours" 30 min (п. 6); answer 8 W-h (п. 7); draft 5 W-h before (п. 9); no term
        # for the curator's or the regional centre's approval (п. 10), none for revision; publication by the
        # curator 30 min after approval (п. 11); final 7 days from the intermediate answer's placement (п. 12).
        "ordinary": {
            "routing": "10.03 11:00",
            "not_ours": "10.03 11:30",
            "answer": "11.03 10:00",
            "draft": "10.03 14:00",  # Wed 10:00 − 1h, Tue 18:00 − 4h
            "publication": "10.03 14:30",  # approved on both levels at once
            "final": "20.03 10:00",
        },
        "friday": {
            "routing": "13.03 16:00",
            "not_ours": "13.03 16:30",
            "answer": "16.03 15:00",
            "draft": "16.03 09:00",  # 15:00 − 1h = 14:00, − 4h = 09:00
            "publication": "16.03 09:30",
            "final": "25.03 15:00",
        },
        "13:00": {
            "routing": "11.03 15:00",
            "not_ours": "11.03 15:30",
            "answer": "12.03 13:00",
            "draft": "11.03 17:00",  # Thu 13:00 − 4h = 09:00, Wed 18:00 − 1h = 17:00
            "publication": "11.03 17:30",
            "final": "23.03 13:00",
        },
        "18:00": {
            "routing": "12.03 10:00",
            "not_ours": "12.03 10:30",
            "answer": "12.03 18:00",
            "draft": "12.03 12:00",  # 18:00 − 4h = 14:00, − 1h = 12:00
            "publication": "12.03 12:30",
            "final": "23.03 18:00",
        },
        "pre-holiday": {
            "routing": "30.04 16:00",
            "not_ours": "30.04 16:30",
            "answer": "04.05 16:00",
            "draft": "04.05 10:00",  # 16:00 − 2h = 14:00, − 3h = 10:00
            "publication": "04.05 10:30",
            "final": "14.05 16:00",
        },
        "saturday": {
            "routing": "01.11 11:00",
            "not_ours": "01.11 11:30",
            "answer": "05.11 11:00",
            "draft": "01.11 14:00",  # Wed 11:00 − 2h, Sat 17:00 − 3h
            "publication": "01.11 14:30",
            "final": "14.11 11:00",
        },
        "new-year": {
            "routing": "30.12 16:00",
            "not_ours": "30.12 16:30",
            "answer": "12.01 15:00",
            "draft": "12.01 09:00",  # 15:00 − 1h = 14:00, − 4h = 09:00
            "publication": "12.01 09:30",
            "final": "21.01 15:00",
        },
    },
    "udmurtia": {
        # Routing 1 h (п. 8); "not ours" 30 min (п. 9); answer 2 working days (п. 10); draft 4 h before (п. 11);
        # approval 1 h (п. 12); revision 2 h (п. 13); publication 1 h (п. 14): 1 + 2 + 1 + 1 h do not fit in the
        # 4 h after the draft mark, so publication is cut to the answer deadline; final 7 days (п. 15);
        # each department's part 3 h after receipt (п. 16).
        "ordinary": {
            "routing": "10.03 11:00",
            "not_ours": "10.03 11:30",
            "answer": "12.03 10:00",  # e = 1h; Wed (1), Thu (2) at 10:00
            "draft": "11.03 15:00",  # Thu 10:00 − 1h, Wed 18:00 − 3h
            "approval": "11.03 16:00",
            "revision": "11.03 18:00",
            "publication": "12.03 10:00 < 12.03 11:00",  # re-approved Wed 18:00 + 1h = Thu 10:00
            "final": "23.03 10:00",  # Fri 13 (1) … Mon 23 (7)
            "contribution": "10.03 15:00",  # routed 11:00 + 2h + 1h after lunch
        },
        "friday": {
            "routing": "13.03 16:00",
            "not_ours": "13.03 16:30",
            "answer": "17.03 15:00",  # e = 5h; Mon (1), Tue (2) at 15:00
            "draft": "17.03 10:00",
            "approval": "17.03 11:00",
            "revision": "17.03 13:00",
            "publication": "17.03 15:00 < 17.03 16:00",  # re-approved 13:00 + 1h = 15:00 (after lunch)
            "final": "26.03 15:00",  # Wed 18 (1) … Thu 26 (7)
            "contribution": "16.03 10:00",  # Fri 16–18 2h, Mon 1h
        },
        "13:00": {
            "routing": "11.03 15:00",
            "not_ours": "11.03 15:30",
            "answer": "13.03 13:00",  # e = 4h: the end of Friday's morning, not 14:00
            "draft": "13.03 09:00",
            "approval": "13.03 10:00",
            "revision": "13.03 12:00",
            "publication": "13.03 13:00 < 13.03 15:00",  # re-approved 13:00; + 1h from 14:00
            "final": "24.03 13:00",  # Mon 16 (1) … Tue 24 (7)
            "contribution": "11.03 18:00",
        },
        "18:00": {
            "routing": "12.03 10:00",
            "not_ours": "12.03 10:30",
            "answer": "13.03 18:00",  # from 18:00: Thu is day 1, Fri day 2, its end
            "draft": "13.03 14:00",
            "approval": "13.03 15:00",
            "revision": "13.03 17:00",
            "publication": "13.03 18:00 < 16.03 10:00",
            "final": "24.03 18:00",  # from Fri 18:00: Mon 16 day 1 … Tue 24 day 7, its end
            "contribution": "12.03 13:00",  # 10:00 + 3h stops at the end of the morning
        },
        "pre-holiday": {
            "routing": "30.04 16:00",
            "not_ours": "30.04 16:30",
            "answer": "05.05 15:00",  # e = 5h on Thu; Mon 4 (1), Tue 5 (2) at 15:00
            "draft": "05.05 10:00",
            "approval": "05.05 11:00",
            "revision": "05.05 13:00",
            "publication": "05.05 15:00 < 05.05 16:00",
            "final": "15.05 15:00",  # Wed 6, Thu 7, Fri 8 (a 7-hour day, still 15:00 < 17:00), Tue 12 … Fri 15
            "contribution": "04.05 11:00",  # Thu 16–17 1h, Mon 2h
        },
        "saturday": {
            "routing": "01.11 11:00",
            "not_ours": "01.11 11:30",
            "answer": "06.11 10:00",  # e = 1h on Sat; Wed 5 (1), Thu 6 (2)
            "draft": "05.11 15:00",
            "approval": "05.11 16:00",
            "revision": "05.11 18:00",
            "publication": "06.11 10:00 < 06.11 11:00",
            "final": "17.11 10:00",  # Fri 7 (1) … Mon 17 (7)
            "contribution": "01.11 15:00",
        },
        "new-year": {
            "routing": "30.12 16:00",
            "not_ours": "30.12 16:30",
            "answer": "13.01 15:00",  # e = 5h; Mon 12.01 (1), Tue 13.01 (2)
            "draft": "13.01 10:00",
            "approval": "13.01 11:00",
            "revision": "13.01 13:00",
            "publication": "13.01 15:00 < 13.01 16:00",
            "final": "22.01 15:00",  # Wed 14 (1) … Thu 22 (7)
            "contribution": "12.01 10:00",  # Tue 16–18 2h, Mon 1h
        },
    },
}

HIGH: dict[str, dict[str, dict[str, str]]] = {
    "otradnaya": {
        # Answer 4 W-h (п. 17). The draft mark of п. 12 counts from the 8-hour term of п. 9 only: no draft mark,
        # so the plan submits the draft at routing.
        "ordinary": {
            "routing": "10.03 10:30",
            "not_ours": "10.03 11:00",
            "clarification": "10.03 11:30",
            "reroute": "10.03 11:30",
            "answer": "10.03 15:00",  # 10–13 3h, 14–15 1h
            "approval": "10.03 11:00",  # submitted at 10:30
            "revision": "10.03 12:00",
            "publication": "10.03 13:00",  # re-approved 12:30
            "final": "19.03 15:00",  # e = 5h; Wed 11 (1) … Thu 19 (7)
            "contribution": "10.03 12:30",
        },
        "friday": {
            "routing": "13.03 15:30",
            "not_ours": "13.03 16:00",
            "clarification": "13.03 16:30",
            "reroute": "13.03 16:30",
            "answer": "16.03 10:00",  # Fri 3h, Mon 1h
            "approval": "13.03 16:00",
            "revision": "13.03 17:00",
            "publication": "13.03 18:00",  # re-approved 17:30
            "final": "25.03 10:00",
            "contribution": "13.03 17:30",
        },
        "13:00": {
            "routing": "11.03 14:30",
            "not_ours": "11.03 15:00",
            "clarification": "11.03 15:30",
            "reroute": "11.03 15:30",
            "answer": "11.03 18:00",
            "approval": "11.03 15:00",
            "revision": "11.03 16:00",
            "publication": "11.03 17:00",
            "final": "20.03 18:00",  # from 18:00: Thu 12 day 1 … Fri 20 day 7
            "contribution": "11.03 16:30",
        },
        "18:00": {
            "routing": "12.03 09:30",
            "not_ours": "12.03 10:00",
            "clarification": "12.03 10:30",
            "reroute": "12.03 10:30",
            "answer": "12.03 13:00",
            "approval": "12.03 10:00",
            "revision": "12.03 11:00",
            "publication": "12.03 12:00",
            "final": "23.03 13:00",  # e = 4h
            "contribution": "12.03 11:30",
        },
        "pre-holiday": {
            "routing": "30.04 15:30",
            "not_ours": "30.04 16:00",
            "clarification": "30.04 16:30",
            "reroute": "30.04 16:30",
            "answer": "04.05 11:00",  # Thu 2h, Mon 2h
            "approval": "30.04 16:00",
            "revision": "30.04 17:00",
            "publication": "04.05 10:00",  # re-approved Mon 09:30
            "final": "14.05 11:00",
            "contribution": "04.05 09:30",
        },
        "saturday": {
            "routing": "01.11 10:30",
            "not_ours": "01.11 11:00",
            "clarification": "01.11 11:30",
            "reroute": "01.11 11:30",
            "answer": "01.11 15:00",
            "approval": "01.11 11:00",
            "revision": "01.11 12:00",
            "publication": "01.11 13:00",
            "final": "13.11 15:00",  # e = 5h; Wed 5 (1) … Thu 13 (7)
            "contribution": "01.11 12:30",
        },
        "new-year": {
            "routing": "30.12 15:30",
            "not_ours": "30.12 16:00",
            "clarification": "30.12 16:30",
            "reroute": "30.12 16:30",
            "answer": "12.01 10:00",  # Tue 3h, Mon 1h
            "approval": "30.12 16:00",
            "revision": "30.12 17:00",
            "publication": "30.12 18:00",
            "final": "21.01 10:00",
            "contribution": "30.12 17:30",
        },
    },
    "borovichi": {
        # Answer 4 W-h (п. 9) with its own draft mark, 2 W-h before (п. 12): 30 min + 1 h + 30 min + 30 min
        # do not fit in 2 h, so publication is cut to the answer deadline.
        "ordinary": {
            "routing": "10.03 10:30",
            "answer": "10.03 15:00",
            "draft": "10.03 12:00",  # 15:00 − 1h = 14:00, − 1h = 12:00
            "approval": "10.03 12:30",
            "revision": "10.03 14:30",
            "publication": "10.03 15:00 < 10.03 15:30",  # re-approved 15:00
            "final": "19.03 15:00",
        },
        "friday": {
            "routing": "13.03 15:30",
            "answer": "16.03 10:00",
            "draft": "13.03 17:00",  # Mon 10:00 − 1h, Fri 18:00 − 1h
            "approval": "13.03 17:30",
            "revision": "16.03 09:30",
            "publication": "16.03 10:00 < 16.03 10:30",
            "final": "25.03 10:00",
        },
        "13:00": {
            "routing": "11.03 14:30",
            "answer": "11.03 18:00",
            "draft": "11.03 16:00",
            "approval": "11.03 16:30",
            "revision": "11.03 17:30",
            "publication": "11.03 18:00 < 12.03 09:30",
            "final": "20.03 18:00",
        },
        "18:00": {
            "routing": "12.03 09:30",
            "answer": "12.03 13:00",
            "draft": "12.03 11:00",
            "approval": "12.03 11:30",
            "revision": "12.03 12:30",
            "publication": "12.03 13:00 < 12.03 14:30",
            "final": "23.03 13:00",
        },
        "pre-holiday": {
            "routing": "30.04 15:30",
            "answer": "04.05 11:00",
            "draft": "04.05 09:00",
            "approval": "04.05 09:30",
            "revision": "04.05 10:30",
            "publication": "04.05 11:00 < 04.05 11:30",
            "final": "14.05 11:00",
        },
        "saturday": {
            "routing": "01.11 10:30",
            "answer": "01.11 15:00",
            "draft": "01.11 12:00",
            "approval": "01.11 12:30",
            "revision": "01.11 14:30",
            "publication": "01.11 15:00 < 01.11 15:30",
            "final": "13.11 15:00",
        },
        "new-year": {
            "routing": "30.12 15:30",
            "answer": "12.01 10:00",
            "draft": "30.12 17:00",  # Mon 10:00 − 1h, Tue 30.12 18:00 − 1h
            "approval": "30.12 17:30",
            "revision": "12.01 09:30",  # Tue 17:30–18:00, Mon 09:00–09:30
            "publication": "12.01 10:00 < 12.01 10:30",
            "final": "21.01 10:00",
        },
    },
    "petrovsky": {
        # Answer 4 W-h (п. 8); the draft mark of п. 9 counts from the term of п. 7 only: none here.
        "ordinary": {
            "routing": "10.03 11:00",
            "not_ours": "10.03 11:30",
            "answer": "10.03 15:00",
            "publication": "10.03 11:30",  # submitted and approved at routing, 11:00
            "final": "19.03 15:00",
        },
        "friday": {
            "routing": "13.03 16:00",
            "not_ours": "13.03 16:30",
            "answer": "16.03 10:00",
            "publication": "13.03 16:30",
            "final": "25.03 10:00",
        },
        "13:00": {
            "routing": "11.03 15:00",
            "not_ours": "11.03 15:30",
            "answer": "11.03 18:00",
            "publication": "11.03 15:30",
            "final": "20.03 18:00",
        },
        "18:00": {
            "routing": "12.03 10:00",
            "not_ours": "12.03 10:30",
            "answer": "12.03 13:00",
            "publication": "12.03 10:30",
            "final": "23.03 13:00",
        },
        "pre-holiday": {
            "routing": "30.04 16:00",
            "not_ours": "30.04 16:30",
            "answer": "04.05 11:00",
            "publication": "30.04 16:30",
            "final": "14.05 11:00",
        },
        "saturday": {
            "routing": "01.11 11:00",
            "not_ours": "01.11 11:30",
            "answer": "01.11 15:00",
            "publication": "01.11 11:30",
            "final": "13.11 15:00",
        },
        "new-year": {
            "routing": "30.12 16:00",
            "not_ours": "30.12 16:30",
            "answer": "12.01 10:00",
            "publication": "30.12 16:30",
            "final": "21.01 10:00",
        },
    },
}
# One answer term for both importances (Ключи п. 6, Удмуртия п. 10): the whole normal plan, draft mark included.
HIGH["kluchi"] = NORMAL["kluchi"]
HIGH["udmurtia"] = NORMAL["udmurtia"]


def _workflow(preset: str) -> Workflow:
    p = get_preset(preset)
    return Workflow(p, WorkCalendar(p.timezone))


def _shown(item: PlanItem, detected: datetime) -> str:
    def short(moment: datetime) -> str:
        return f"{moment:%d.%m %H:%M}"

    assert item.due.tzinfo is not None and item.due.year in (detected.year, detected.year + 1)
    return short(item.due) + (f" < {short(item.own_due)}" if item.own_due is not None else "")


CASES = [
    (preset, importance, situation)
    for preset in NORMAL
    for importance in (Importance.normal, Importance.high)
    for situation in SITUATIONS
]


@pytest.mark.parametrize(("preset", "importance", "situation"), CASES)
def test_the_plan_matches_the_hand_computed_table(preset: str, importance: Importance, situation: str) -> None:
    workflow = _workflow(preset)
    detected = datetime.fromisoformat(SITUATIONS[situation]).replace(tzinfo=ZoneInfo(workflow.preset.timezone))
    table = NORMAL if importance is Importance.normal else HIGH
    got = {item.key: _shown(item, detected) for item in plan(workflow, detected, importance)}
    assert got == table[preset][situation]


@pytest.mark.parametrize(("preset", "importance", "situation"), CASES)
def test_no_step_of_any_plan_ends_after_the_answer_deadline(
    preset: str, importance: Importance, situation: str
) -> None:
    workflow = _workflow(preset)
    detected = datetime.fromisoformat(SITUATIONS[situation]).replace(tzinfo=ZoneInfo(workflow.preset.timezone))
    items = {i.key: i for i in plan(workflow, detected, importance)}
    answer = items["answer"].due
    assert [k for k, i in items.items() if k not in ("answer", "final") and i.due > answer] == []


# --- the inputs of issue 10, §1 and §3 ----------------------------------------------------------------------


def _cli_plan(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, dict[str, object]]:
    assert main(["deadline", *args, "--json"]) == 0
    return {d["key"]: d for d in json.loads(capsys.readouterr().out)["deadlines"]}


def test_udmurtia_high_importance_keeps_the_draft_approval_and_revision_of_the_normal_plan(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Удмуртия п. 10 sets one answer term: 2 working days from 16.09.2025 10:00 → 18.09 10:00 for either
    # importance. Draft 4 h before (п. 11): 18.09 09:00, then 17.09 18:00 back 3 h = 17.09 15:00;
    # approval 1 h (п. 12): 16:00; revision 2 h (п. 13): 18:00.
    high = _cli_plan(capsys, "--detected", "2025-09-16 10:00", "--preset", "udmurtia", "--importance", "high")
    assert high["draft"]["due"] == "2025-09-17T15:00:00+04:00"
    assert high["approval"]["due"] == "2025-09-17T16:00:00+04:00"
    assert high["revision"]["due"] == "2025-09-17T18:00:00+04:00"
    normal = _cli_plan(capsys, "--detected", "2025-09-16 10:00", "--preset", "udmurtia")
    assert high == normal


def test_kluchi_high_importance_keeps_the_draft_mark(capsys: pytest.CaptureFixture[str]) -> None:
    # Ключи п. 6: 9 W-h from 16.09.2025 10:00 → 17.09 11:00; п. 7: the draft 4 h before → 16.09 16:00; the
    # revision (п. 8) runs 1 h from the draft returned at once → 17:00.
    high = _cli_plan(capsys, "--detected", "2025-09-16 10:00", "--preset", "kluchi", "--importance", "high")
    assert high["draft"]["due"] == "2025-09-16T16:00:00+07:00"
    assert high["revision"]["due"] == "2025-09-16T17:00:00+07:00"


def test_borovichi_high_importance_has_its_own_2_hour_draft_mark(capsys: pytest.CaptureFixture[str]) -> None:
    # Боровичи п. 9/12: answer 4 W-h from 16.09.2025 10:00 → 15:00, draft 2 W-h before it → 12:00.
    high = _cli_plan(capsys, "--detected", "2025-09-16 10:00", "--preset", "borovichi", "--importance", "high")
    assert high["draft"]["due"] == "2025-09-16T12:00:00+03:00"
    assert high["answer"]["due"] == "2025-09-16T15:00:00+03:00"


@pytest.mark.parametrize("preset", ["otradnaya", "petrovsky"])
def test_a_separate_4_hour_term_has_no_draft_mark(preset: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Отрадная п. 12 and Петровский п. 9 count the draft back from the 8-hour term only.
    high = _cli_plan(capsys, "--detected", "2025-09-16 10:00", "--preset", preset, "--importance", "high")
    assert "draft" not in high


def test_udmurtia_publication_is_cut_to_the_answer_deadline_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    # Detected 16.09.2025 11:10: answer 18.09 11:10 (п. 10), draft 17.09 16:10, approval 17:10, revision
    # 18.09 10:10 (17:10–18:00 50 min + 1h10), re-approval 11:10; publication 1 h (п. 14) would end 12:10.
    plan_ = _cli_plan(capsys, "--detected", "2025-09-16 11:10", "--preset", "udmurtia")
    assert plan_["answer"]["due"] == "2025-09-18T11:10:00+04:00"
    assert plan_["publication"]["due"] == "2025-09-18T11:10:00+04:00"
    assert plan_["publication"]["shortened"] is True
    assert plan_["publication"]["own_due"] == "2025-09-18T12:10:00+04:00"
    assert plan_["answer"]["shortened"] is False and plan_["answer"]["own_due"] is None
    assert main(["deadline", "--detected", "2025-09-16 11:10", "--preset", "udmurtia"]) == 0
    text = capsys.readouterr().out
    line = next(x for x in text.splitlines() if "Размещение согласованного ответа" in x)
    assert "18.09.2025 11:10" in line and "сокращён до срока ответа" in line and "18.09.2025 12:10" in line
