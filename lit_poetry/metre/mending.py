"""Mending of the 平水韵 source: variant characters, characters it lacks, readings it has wrong.

Each entry names its source. Variant characters (疎 -> 疏) come from the table the corpus shares
(lit_poetry/variants.py); a variant, and a character borrowing another's readings (樽 as 尊), takes that
form's tones and groups. Groups and tones of
the characters the source leaves out, and the corrections, follow the 《广韵》 fanqie of the character
(its 声调 and 韵) and the 平水韵 group that 韵 falls in (as in 《佩文诗韵》). An added character takes
the tone of its group, over what the tone strains said (蝴 葡 蝙 顦 were 仄 there).
"""

BORROWED = {  # characters the source lacks that read as another: 樽 as 尊 (罇 -> 樽 in lit_poetry/variants.py);
    "樽": "尊",
    "沉": "沈",  # 沉 is 沈's 平 reading (直深切): the 仄 readings of 沈 (式荏切, the surname) are left off below
}
VARIANT_ONLY_PING = {"沉"}  # borrowers that take only the 平 readings of their source

ADDED = {  # characters the source lacks: their 平水韵 groups (《广韵》 fanqie, its 韵)
    "啼": "上平八齐",  # 杜奚切, 齐韵
    "堤": "上平八齐",  # 都奚切, 齐韵
    "炉": "上平七虞",  # 落胡切, 模韵
    "腮": "上平十灰",  # 苏来切, 咍韵
    "燃": "下平一先",  # 如延切, 仙韵
    "惭": "下平十三覃",  # 昨甘切, 谈韵
    "粗": "上平七虞",  # 徂古切 (上声) and 仓胡切 (平, 模韵): the 平 reading used at line ends
    "昂": "下平七阳",  # 五刚切, 唐韵
    "抄": "下平三肴",  # 楚交切, 肴韵
    "葱": "上平一东",  # 仓红切, 东韵
    "珪": "上平八齐",  # 古携切, 齐韵
    "鳊": "下平一先",  # 卑连切, 仙韵
    "蝴": "上平七虞",  # 户吴切, 模韵
    "葡": "上平七虞",  # 薄胡切, 模韵
    "蝙": "下平一先",  # 布玄切, 先韵
    "顦": "下平二萧",  # 昨焦切, 宵韵 (顦顇 = 憔悴)
    "虻": "下平八庚",  # 武庚切, 庚韵
}

CORRECTED = {  # character -> (tones, groups) that replace what the source or the strains had
    "坞": ({"仄"}, {"上七麌"}),  # 安古切, 上声姥韵: not in the source, and the strains' majority said 平
    "这": ({"仄"}, {"去十七霰"}),  # 鱼战切, 去声线韵 (迎 "to greet", its Tang sense): not in the source
    "喻": ({"仄"}, {"去七遇"}),  # 羊戍切, 去声遇韵: the source lists it only under 上平七虞
    # 平 readings of other senses that verse does not use (the strains mark them 仄 in every one of 27,131,
    # 2,928 and 568 uses): generation rhymed on them, and they hid faults at 平 positions
    "不": ({"仄"}, {"入五物"}),  # 分勿切; 甫鸠切 (尤韵) is 不 = 柎 "calyx"
    "汉": ({"仄"}, {"去十五翰"}),  # 呼旰切; the 寒韵 listing is the name of a river
    "母": ({"仄"}, {"上二十五有", "上七麌"}),  # 莫厚切; the 虞韵 listing is 母 = 毋
}
