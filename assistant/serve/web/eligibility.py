"""The 资格自测 tab: an enterprise fills in what it knows and sees, rule by rule, whether it
qualifies, each condition marked met, unmet or unknown and cited.

The form's choices are the profile's own vocabulary (assistant.eligibility.profile), so the
form, the rules and the API speak the same words.
"""

from __future__ import annotations

from typing import Any, get_args

import gradio as gr

from assistant.eligibility.profile import (
    FACTS,
    QUALIFICATIONS,
    Industry,
    Recognition,
    Size,
    Stage,
)
from assistant.errors import AssistantError, UnavailableError
from assistant.serve.web.context import PRIVATE, PageContext, unavailable
from assistant.serve.web.render import empty_html, error_html, sections_in, verdicts_html

UNSURE = "不确定"
YES_NO = [UNSURE, "是", "否"]
ELIGIBILITY_INTRO = (
    "填写企业情况后点击“开始自测”，即可逐条对照已收录政策的条件：哪些已经满足、"
    "哪些不满足、哪些还需要补充信息。每个条件都注明所依据的原文。"
)
# The yes/no facts offered as ticks, beside the statuses, the choices and the two places.
OTHER_FACTS = (
    "tech_based",
    "rd_expenses",
    "tech_services",
    "tech_transfer_income",
    "high_tech_products",
    "employs_disabled",
    "special_equipment",
    "resource_recycling",
    "founded_by_priority_group",
)


def choices(vocabulary: Any) -> list[str]:
    """A choice field's options: 不确定, then the profile's values for it."""
    return [UNSURE, *get_args(vocabulary)]


def profile_data(
    qualifications: list[str],
    choices_made: dict[str, str],
    places: dict[str, str],
    facts: list[str],
) -> dict[str, Any]:
    """The form as a profile's data: unticked statuses are not held, the rest unknown."""
    labels = {spec.label: name for name, spec in FACTS.items()}
    data: dict[str, Any] = {"qualifications": list(qualifications or [])}
    data.update({k: v for k, v in choices_made.items() if v and v != UNSURE})
    data.update({k: v == "是" for k, v in places.items() if v in ("是", "否")})
    for label in facts or []:
        data[labels[label]] = True
    return data


class EligibilityTab:
    """The form's handler."""

    def __init__(self, context: PageContext) -> None:
        self.context = context

    def eligibility(
        self,
        qualifications: list[str],
        stage: str,
        size: str,
        recognition: str,
        registered: str,
        park: str,
        industry: str,
        facts: list[str],
    ) -> str:
        """Verdicts for the form's profile: unticked statuses are not held, the rest unknown."""
        from assistant.eligibility import verdicts as engine
        from assistant.eligibility.profile import parse_profile

        data = profile_data(
            qualifications,
            {
                "stage": stage,
                "size": size,
                "high_tech_recognition": recognition,
                "industry": industry,
            },
            {"registered_in_district": registered, "in_zhangjiang_park": park},
            facts,
        )
        try:
            services = self.context.runtime.services
            index, book = services.index, services.rulebook
            profile = parse_profile(data)
        except UnavailableError as exc:
            return empty_html(unavailable(exc))
        except AssistantError as exc:
            return error_html(exc.zh)
        result, citations = engine.cited_report(
            profile, engine.evaluate(profile, book.rules), book.citation
        )
        return verdicts_html(result, citations, sections_in(index))


def build_eligibility_tab(tab: EligibilityTab) -> None:
    """The profile form beside the verdicts."""
    with gr.Row(elem_id="pa-eligibility"):
        with gr.Column(scale=2, min_width=300, elem_id="pa-profile"):
            quals = gr.CheckboxGroup(
                list(QUALIFICATIONS), label="已具备的资质（未勾选视为不具备）", elem_id="pa-quals"
            )
            with gr.Row():
                stage = gr.Radio(
                    choices(Stage), value=UNSURE, label=FACTS["stage"].label, elem_id="pa-stage"
                )
                size = gr.Radio(
                    choices(Size), value=UNSURE, label=FACTS["size"].label, elem_id="pa-size"
                )
            recognition = gr.Radio(
                choices(Recognition),
                value=UNSURE,
                label="高企认定类型（如是高新技术企业）",
                elem_id="pa-recognition",
            )
            with gr.Row():
                registered = gr.Radio(
                    YES_NO,
                    value=UNSURE,
                    label=FACTS["registered_in_district"].label,
                    elem_id="pa-registered",
                )
                park = gr.Radio(
                    YES_NO, value=UNSURE, label=FACTS["in_zhangjiang_park"].label, elem_id="pa-park"
                )
            industry = gr.Dropdown(
                choices(Industry),
                value=UNSURE,
                label=FACTS["industry"].label,
                elem_id="pa-industry",
            )
            facts = gr.CheckboxGroup(
                [FACTS[f].label for f in OTHER_FACTS],
                label="其他情况（勾选符合的，未勾选视为不确定）",
                elem_id="pa-facts",
            )
            run = gr.Button("开始自测", variant="primary", elem_id="pa-check")
        with gr.Column(scale=3, min_width=300):
            verdicts = gr.HTML(empty_html(ELIGIBILITY_INTRO), elem_id="pa-verdicts")
    run.click(
        tab.eligibility,
        [quals, stage, size, recognition, registered, park, industry, facts],
        verdicts,
        **PRIVATE,
    )
