"""Henan's public geography for the demo network: the 18 cities with their administrative
division codes (GB/T 2260), their counties and county-level cities, and the former counties
that became districts but still run a county-level people's hospital.

Township names are the public names of the townships of the two Luohe counties (the demo
city); their nine-digit codes follow the national pattern (towns 1xx, townships 2xx) but
are numbered here in list order, not taken from the official register. Village names are
made up from common Henan village-name stems.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class County:
    code: str
    name: str
    name_en: str  # "Wuyang County", "Gongyi City", "Xiangfu District"


@dataclass(frozen=True)
class City:
    code: str
    name: str
    name_en: str
    hospital: str
    hospital_en: str
    counties: tuple[County, ...]


PROVINCE_CODE = "410000"
PROVINCE_NAME = ("河南省", "Henan Province")
PROVINCE_CENTRE = ("河南省远程医学中心", "Henan Telemedicine Center", "河南省郑州市")

# The demo city and county (Luohe, Wuyang) get the fixed institution codes.
DEMO_CITY_REGION = "411100"
DEMO_COUNTY_REGION = "411121"


def _c(code: str, name: str, name_en: str) -> County:
    return County(code, name, name_en)


CITIES: tuple[City, ...] = (
    City(
        "410100",
        "郑州市",
        "Zhengzhou",
        "郑州市中心医院",
        "Zhengzhou Central Hospital",
        (
            _c("410122", "中牟县", "Zhongmou County"),
            _c("410181", "巩义市", "Gongyi City"),
            _c("410182", "荥阳市", "Xingyang City"),
            _c("410183", "新密市", "Xinmi City"),
            _c("410184", "新郑市", "Xinzheng City"),
            _c("410185", "登封市", "Dengfeng City"),
        ),
    ),
    City(
        "410200",
        "开封市",
        "Kaifeng",
        "开封市中心医院",
        "Kaifeng Central Hospital",
        (
            _c("410212", "祥符区", "Xiangfu District"),
            _c("410221", "杞县", "Qi County"),
            _c("410222", "通许县", "Tongxu County"),
            _c("410223", "尉氏县", "Weishi County"),
            _c("410225", "兰考县", "Lankao County"),
        ),
    ),
    City(
        "410300",
        "洛阳市",
        "Luoyang",
        "洛阳市中心医院",
        "Luoyang Central Hospital",
        (
            _c("410307", "偃师区", "Yanshi District"),
            _c("410308", "孟津区", "Mengjin District"),
            _c("410323", "新安县", "Xin'an County"),
            _c("410324", "栾川县", "Luanchuan County"),
            _c("410325", "嵩县", "Song County"),
            _c("410326", "汝阳县", "Ruyang County"),
            _c("410327", "宜阳县", "Yiyang County"),
            _c("410328", "洛宁县", "Luoning County"),
            _c("410329", "伊川县", "Yichuan County"),
        ),
    ),
    City(
        "410400",
        "平顶山市",
        "Pingdingshan",
        "平顶山市第一人民医院",
        "Pingdingshan First People's Hospital",
        (
            _c("410421", "宝丰县", "Baofeng County"),
            _c("410422", "叶县", "Ye County"),
            _c("410423", "鲁山县", "Lushan County"),
            _c("410425", "郏县", "Jia County"),
            _c("410481", "舞钢市", "Wugang City"),
            _c("410482", "汝州市", "Ruzhou City"),
        ),
    ),
    City(
        "410500",
        "安阳市",
        "Anyang",
        "安阳市人民医院",
        "Anyang People's Hospital",
        (
            _c("410522", "安阳县", "Anyang County"),
            _c("410523", "汤阴县", "Tangyin County"),
            _c("410526", "滑县", "Hua County"),
            _c("410527", "内黄县", "Neihuang County"),
            _c("410581", "林州市", "Linzhou City"),
        ),
    ),
    City(
        "410600",
        "鹤壁市",
        "Hebi",
        "鹤壁市人民医院",
        "Hebi People's Hospital",
        (
            _c("410621", "浚县", "Xun County"),
            _c("410622", "淇县", "Qi County (Hebi)"),
        ),
    ),
    City(
        "410700",
        "新乡市",
        "Xinxiang",
        "新乡市中心医院",
        "Xinxiang Central Hospital",
        (
            _c("410721", "新乡县", "Xinxiang County"),
            _c("410724", "获嘉县", "Huojia County"),
            _c("410725", "原阳县", "Yuanyang County"),
            _c("410726", "延津县", "Yanjin County"),
            _c("410727", "封丘县", "Fengqiu County"),
            _c("410781", "卫辉市", "Weihui City"),
            _c("410782", "辉县市", "Huixian City"),
            _c("410783", "长垣市", "Changyuan City"),
        ),
    ),
    City(
        "410800",
        "焦作市",
        "Jiaozuo",
        "焦作市人民医院",
        "Jiaozuo People's Hospital",
        (
            _c("410821", "修武县", "Xiuwu County"),
            _c("410822", "博爱县", "Bo'ai County"),
            _c("410823", "武陟县", "Wuzhi County"),
            _c("410825", "温县", "Wen County"),
            _c("410882", "沁阳市", "Qinyang City"),
            _c("410883", "孟州市", "Mengzhou City"),
        ),
    ),
    City(
        "410900",
        "濮阳市",
        "Puyang",
        "濮阳市人民医院",
        "Puyang People's Hospital",
        (
            _c("410922", "清丰县", "Qingfeng County"),
            _c("410923", "南乐县", "Nanle County"),
            _c("410926", "范县", "Fan County"),
            _c("410927", "台前县", "Taiqian County"),
            _c("410928", "濮阳县", "Puyang County"),
        ),
    ),
    City(
        "411000",
        "许昌市",
        "Xuchang",
        "许昌市中心医院",
        "Xuchang Central Hospital",
        (
            _c("411003", "建安区", "Jian'an District"),
            _c("411024", "鄢陵县", "Yanling County"),
            _c("411025", "襄城县", "Xiangcheng County"),
            _c("411081", "禹州市", "Yuzhou City"),
            _c("411082", "长葛市", "Changge City"),
        ),
    ),
    City(
        "411100",
        "漯河市",
        "Luohe",
        "漯河市中心医院",
        "Luohe Central Hospital",
        (
            _c("411121", "舞阳县", "Wuyang County"),
            _c("411122", "临颍县", "Linying County"),
        ),
    ),
    City(
        "411200",
        "三门峡市",
        "Sanmenxia",
        "三门峡市中心医院",
        "Sanmenxia Central Hospital",
        (
            _c("411203", "陕州区", "Shanzhou District"),
            _c("411221", "渑池县", "Mianchi County"),
            _c("411224", "卢氏县", "Lushi County"),
            _c("411281", "义马市", "Yima City"),
            _c("411282", "灵宝市", "Lingbao City"),
        ),
    ),
    City(
        "411300",
        "南阳市",
        "Nanyang",
        "南阳市中心医院",
        "Nanyang Central Hospital",
        (
            _c("411321", "南召县", "Nanzhao County"),
            _c("411322", "方城县", "Fangcheng County"),
            _c("411323", "西峡县", "Xixia County"),
            _c("411324", "镇平县", "Zhenping County"),
            _c("411325", "内乡县", "Neixiang County"),
            _c("411326", "淅川县", "Xichuan County"),
            _c("411327", "社旗县", "Sheqi County"),
            _c("411328", "唐河县", "Tanghe County"),
            _c("411329", "新野县", "Xinye County"),
            _c("411330", "桐柏县", "Tongbai County"),
            _c("411381", "邓州市", "Dengzhou City"),
        ),
    ),
    City(
        "411400",
        "商丘市",
        "Shangqiu",
        "商丘市第一人民医院",
        "Shangqiu First People's Hospital",
        (
            _c("411421", "民权县", "Minquan County"),
            _c("411422", "睢县", "Sui County"),
            _c("411423", "宁陵县", "Ningling County"),
            _c("411424", "柘城县", "Zhecheng County"),
            _c("411425", "虞城县", "Yucheng County"),
            _c("411426", "夏邑县", "Xiayi County"),
            _c("411481", "永城市", "Yongcheng City"),
        ),
    ),
    City(
        "411500",
        "信阳市",
        "Xinyang",
        "信阳市中心医院",
        "Xinyang Central Hospital",
        (
            _c("411521", "罗山县", "Luoshan County"),
            _c("411522", "光山县", "Guangshan County"),
            _c("411523", "新县", "Xin County"),
            _c("411524", "商城县", "Shangcheng County"),
            _c("411525", "固始县", "Gushi County"),
            _c("411526", "潢川县", "Huangchuan County"),
            _c("411527", "淮滨县", "Huaibin County"),
            _c("411528", "息县", "Xi County"),
        ),
    ),
    City(
        "411600",
        "周口市",
        "Zhoukou",
        "周口市中心医院",
        "Zhoukou Central Hospital",
        (
            _c("411603", "淮阳区", "Huaiyang District"),
            _c("411621", "扶沟县", "Fugou County"),
            _c("411622", "西华县", "Xihua County"),
            _c("411623", "商水县", "Shangshui County"),
            _c("411624", "沈丘县", "Shenqiu County"),
            _c("411625", "郸城县", "Dancheng County"),
            _c("411627", "太康县", "Taikang County"),
            _c("411628", "鹿邑县", "Luyi County"),
            _c("411681", "项城市", "Xiangcheng City"),
        ),
    ),
    City(
        "411700",
        "驻马店市",
        "Zhumadian",
        "驻马店市中心医院",
        "Zhumadian Central Hospital",
        (
            _c("411721", "西平县", "Xiping County"),
            _c("411722", "上蔡县", "Shangcai County"),
            _c("411723", "平舆县", "Pingyu County"),
            _c("411724", "正阳县", "Zhengyang County"),
            _c("411725", "确山县", "Queshan County"),
            _c("411726", "泌阳县", "Biyang County"),
            _c("411727", "汝南县", "Runan County"),
            _c("411728", "遂平县", "Suiping County"),
            _c("411729", "新蔡县", "Xincai County"),
        ),
    ),
    # Jiyuan is a county-level city administered by the province directly: a sub-centre of
    # its own with no counties below it.
    City("419001", "济源市", "Jiyuan", "济源市人民医院", "Jiyuan People's Hospital", ()),
)

# Large counties that also run a hospital of traditional Chinese medicine on the network.
TCM_HOSPITAL_COUNTIES = (
    "411121",
    "411122",
    "411525",
    "410526",
    "411381",
    "411481",
    "410482",
    "410581",
    "411681",
    "411081",
    "410184",
    "410181",
    "411627",
    "411628",
    "411328",
    "411528",
    "411426",
    "411722",
)

# (name, English) of the townships of the demo city's counties, towns first.
TOWNSHIPS: dict[str, tuple[tuple[str, str], ...]] = {
    "411121": (
        ("舞泉镇", "Wuquan Town"),
        ("吴城镇", "Wucheng Town"),
        ("北舞渡镇", "Beiwudu Town"),
        ("莲花镇", "Lianhua Town"),
        ("辛安镇", "Xin'an Town"),
        ("孟寨镇", "Mengzhai Town"),
        ("太尉镇", "Taiwei Town"),
        ("侯集镇", "Houji Town"),
        ("九街镇", "Jiujie Town"),
        ("文峰乡", "Wenfeng Township"),
        ("保和乡", "Baohe Township"),
        ("马村乡", "Macun Township"),
        ("姜店乡", "Jiangdian Township"),
        ("章化乡", "Zhanghua Township"),
    ),
    "411122": (
        ("繁城回族镇", "Fancheng Hui Town"),
        ("杜曲镇", "Duqu Town"),
        ("王岗镇", "Wanggang Town"),
        ("台陈镇", "Taichen Town"),
        ("巨陵镇", "Juling Town"),
        ("瓦店镇", "Wadian Town"),
        ("三家店镇", "Sanjiadian Town"),
        ("窝城镇", "Wocheng Town"),
        ("大郭镇", "Daguo Town"),
        ("陈庄乡", "Chenzhuang Township"),
        ("石桥乡", "Shiqiao Township"),
        ("固厢乡", "Guxiang Township"),
        ("皇帝庙乡", "Huangdimiao Township"),
    ),
}

# Village clinics per township in each demo county.
VILLAGES_PER_TOWNSHIP = {"411121": 3, "411122": 2}

VILLAGE_STEMS: tuple[tuple[str, str], ...] = (
    ("王庄", "Wangzhuang"),
    ("李庄", "Lizhuang"),
    ("张湾", "Zhangwan"),
    ("刘庄", "Liuzhuang"),
    ("陈营", "Chenying"),
    ("赵楼", "Zhaolou"),
    ("孙寨", "Sunzhai"),
    ("周岗", "Zhougang"),
    ("吴店", "Wudian"),
    ("郑桥", "Zhengqiao"),
    ("何集", "Heji"),
    ("马坡", "Mapo"),
    ("朱洼", "Zhuwa"),
    ("高庄", "Gaozhuang"),
    ("杨店", "Yangdian"),
    ("黄营", "Huangying"),
    ("徐庄", "Xuzhuang"),
    ("胡楼", "Hulou"),
)


@dataclass(frozen=True)
class Partner:
    code: str
    name: str
    name_en: str
    address: str


# Hospitals outside the province that take cases through the platform. Hami is the
# Xinjiang prefecture Henan supports under the paired-assistance programme.
EXTERNAL_PARTNERS: tuple[Partner, ...] = (
    Partner("EXT-XJ-HAMI", "哈密市中心医院", "Hami Central Hospital", "新疆维吾尔自治区哈密市"),
    Partner(
        "EXT-XJ-PH",
        "新疆维吾尔自治区人民医院",
        "People's Hospital of Xinjiang Uygur Autonomous Region",
        "新疆维吾尔自治区乌鲁木齐市",
    ),
    Partner(
        "EXT-SC-WCH", "四川大学华西医院", "West China Hospital, Sichuan University", "四川省成都市"
    ),
)
