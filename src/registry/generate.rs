//! Synthetic registries of any size, for load tests and demonstrations.
//!
//! The files use the same schema and Chinese headers staff use, and are fully determined by
//! `(n, seed)`. The generator's random numbers (splitmix64) only invent data; they have nothing to
//! do with the draws, which use their own verifiable source.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Category ids the generator writes (the shipped rules name them).
pub const CATEGORIES: &[&str] = &[
    "hotel",
    "entertainment",
    "security_service",
    "blasting",
    "fireworks_event",
    "mass_event",
    "firearms_unit",
    "precursor_chemical",
    "internet_cafe",
    "network_operator",
    "internet_culture",
    "foreign_employer",
];

/// Qualification ids the generator writes.
pub const QUALIFICATIONS: &[&str] = &[
    "public_order",
    "explosives",
    "firearms",
    "precursor_chemicals",
    "cybersecurity",
    "exit_entry",
];

/// Department ids the generator writes.
pub const DEPARTMENTS: &[&str] = &["zhian", "jindu", "wangan", "churujing"];

/// splitmix64: tiny, fast, and plenty for invented data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0); the tiny modulo bias does not matter here.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// (category, weight, name suffixes, licence prefix): weights follow a county's mix.
#[rustfmt::skip]
const CATEGORY_MIX: &[(&str, u64, &[&str], &str)] = &[
    ("hotel", 300, &["宾馆", "旅馆", "酒店", "快捷酒店", "旅社", "商务宾馆"], "鲁公特旅字"),
    ("entertainment", 60, &["KTV", "歌舞厅", "游艺厅", "量贩KTV", "娱乐会所"], "文娱经字"),
    ("security_service", 25, &["保安服务有限公司", "保安培训学校"], "鲁公保服字"),
    ("blasting", 6, &["爆破工程有限公司", "矿业有限公司爆破队"], "鲁公爆字"),
    ("fireworks_event", 4, &["春节焰火晚会", "元宵节焰火燃放活动"], "鲁公焰许字"),
    ("mass_event", 12, &["文化旅游节", "演唱会", "全民健身运动会", "庙会"], "鲁公活许字"),
    ("firearms_unit", 5, &["射击俱乐部", "金融押运有限公司"], "鲁公枪证字"),
    ("precursor_chemical", 40, &["化工有限公司", "化学试剂经营部", "医药化工有限公司"], "鲁公易制毒备字"),
    ("internet_cafe", 35, &["网吧", "网咖", "电竞网咖"], "网文字"),
    ("network_operator", 30, &["网络科技有限公司", "信息技术有限公司", "数据服务有限公司"], ""),
    ("internet_culture", 10, &["文化传媒有限公司", "网络文化有限公司"], "鲁网文"),
    ("foreign_employer", 15, &["外国语培训学校", "进出口有限公司", "国际贸易有限公司"], ""),
];

/// (town, weight): the county seat's 街道 holds most businesses.
#[rustfmt::skip]
const TOWNS: &[(&str, u64)] = &[
    ("平邑街道", 30),
    ("仲村镇", 6),
    ("武台镇", 5),
    ("保太镇", 5),
    ("柏林镇", 6),
    ("卞桥镇", 5),
    ("地方镇", 6),
    ("铜石镇", 5),
    ("温水镇", 4),
    ("流峪镇", 4),
    ("郑城镇", 5),
    ("白彦镇", 4),
    ("临涧镇", 5),
    ("丰阳镇", 4),
];

#[rustfmt::skip]
const TRADE_NAMES: &[&str] = &[
    "鑫源", "福泰", "祥和", "金鼎", "华联", "宏达", "顺发", "永盛", "蒙山", "浚河", "东方", "银河", "天一", "和顺", "嘉禾",
    "聚福", "兴隆", "恒通", "吉祥", "万福", "瑞丰", "明珠", "泰和", "盛世", "新世纪", "君悦", "金海", "凯旋", "阳光", "温馨",
    "佳园", "宏图", "鸿运", "荣华", "丰源", "康达", "安泰", "同福", "百合", "星光", "金色", "友谊", "开元", "泉林", "龙泉",
    "金桥", "国泰", "四季", "红叶", "山水", "仁和", "德润", "正大", "圣元", "万家", "晨曦", "润泽", "银都", "翠园", "龟蒙",
];

#[rustfmt::skip]
const ROADS: &[&str] = &[
    "莲花山路", "浚河路", "金花路", "银花路", "东阳路", "府前路", "蒙山大道", "民主路", "建设路", "文化路",
    "商业街", "振兴路", "平安路", "青年路", "丰源路", "东关街", "西关街", "兴业路", "人民路", "新华路",
];

#[rustfmt::skip]
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "孙", "周", "吴", "徐", "马", "朱", "胡", "郭", "何", "高", "林", "罗", "郑", "梁", "宋", "谢", "唐", "韩", "冯", "于", "董", "萧", "程", "曹", "袁", "邓", "许", "傅", "沈", "曾", "彭", "吕", "苏", "卢", "蒋", "蔡", "贾", "丁", "魏", "薛", "叶", "阎", "颜",
];

#[rustfmt::skip]
const GIVEN_NAMES: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "秀英", "霞", "平", "刚", "桂英", "建国", "建华", "志强", "海燕", "晓明", "春梅", "国庆", "红梅", "振华", "文博", "子涵", "浩然", "雪梅", "玉兰", "德胜", "庆华", "立新", "晓东", "海涛", "凤英",
];

const RESULTS: &[&str] = &["未发现问题", "发现问题已责令改正", "发现问题已立案查处"];

fn weighted<'a>(rng: &mut Rng, items: &'a [(&'a str, u64)]) -> &'a str {
    let total: u64 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.below(total);
    for (item, w) in items {
        if x < *w {
            return item;
        }
        x -= w;
    }
    items.last().map_or("", |(item, _)| item)
}

/// Short town name for business names ("仲村镇" → "仲村"; the county seat → "平邑").
fn town_short(town: &str) -> &str {
    if town == "平邑街道" {
        "平邑"
    } else {
        town.strip_suffix('镇').unwrap_or(town)
    }
}

/// Writes `n` synthetic targets (Chinese headers, UTF-8 CSV) to `path`, determined by `seed`.
/// Ids are `T` and a 10-digit number, unique within the file.
pub fn write_targets(path: &Path, n: u64, seed: u64) -> io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
    w.write_all(
        "编号,名称,类别,所属区域,地址,重点区域,风险等级,许可证号,状态,上次检查日期,上次检查结果,法定代表人\n"
            .as_bytes(),
    )?;
    let mut rng = Rng(seed);
    let mix: Vec<(&str, u64)> = CATEGORY_MIX.iter().map(|(c, w, _, _)| (*c, *w)).collect();
    // Last-inspection dates: 2021-01-01 .. 2023-12-31.
    let first_day = chrono::NaiveDate::from_ymd_opt(2021, 1, 1).unwrap_or_default();
    let span = 1_095_u64;
    let mut line: Vec<u8> = Vec::with_capacity(512);
    for k in 1..=n {
        line.clear();
        let category = weighted(&mut rng, &mix);
        let (_, _, suffixes, licence_prefix) = CATEGORY_MIX
            .iter()
            .find(|(c, ..)| *c == category)
            .copied()
            .unwrap_or(CATEGORY_MIX[0]);
        let town = weighted(&mut rng, TOWNS);
        let trade = rng.pick(TRADE_NAMES);
        let suffix = rng.pick(suffixes);
        let road = rng.pick(ROADS);
        let number = 1 + rng.below(399);
        let key_area = if rng.chance(10) { "是" } else { "否" };
        let class = match rng.below(10) {
            0 | 1 => "A",
            2..=5 => "B",
            6..=8 => "C",
            _ => "D",
        };
        let status = if rng.chance(3) {
            rng.pick(&["注销", "吊销", "停业"])
        } else {
            "正常"
        };
        if matches!(category, "fireworks_event" | "mass_event") {
            // Events are applications, named by place and year rather than by a trade name.
            write!(line, "T{k:010},{town}{}年{suffix}", 2021 + rng.below(4))?;
        } else {
            write!(line, "T{k:010},{}{trade}{suffix}", town_short(town))?;
        }
        write!(
            line,
            ",{category},{town},平邑县{town}{road}{number}号,{key_area},{class},"
        )?;
        if !licence_prefix.is_empty() && rng.chance(85) {
            write!(line, "{licence_prefix}3713{:06}", rng.below(1_000_000))?;
        }
        write!(line, ",{status},")?;
        if rng.chance(40) {
            let date = first_day + chrono::Days::new(rng.below(span));
            let result = match rng.below(20) {
                0..=15 => RESULTS[0],
                16..=18 => RESULTS[1],
                _ => RESULTS[2],
            };
            write!(line, "{date},{result}")?;
        } else {
            line.push(b',');
        }
        let surname = rng.pick(SURNAMES);
        let given = rng.pick(GIVEN_NAMES);
        writeln!(line, ",{surname}{given}")?;
        w.write_all(&line)?;
    }
    w.flush()
}

/// Writes `n` synthetic inspectors (Chinese headers, UTF-8 CSV) to `path`, determined by `seed`.
/// Ids are `P` and a 7-digit number; a few declare conflicts with targets `T0000000001`..`T0000000100`.
pub fn write_inspectors(path: &Path, n: u64, seed: u64) -> io::Result<()> {
    let mut w = BufWriter::new(File::create(path)?);
    w.write_all("工号,姓名,所属部门,执法证号,执法资格,在岗,区域,回避\n".as_bytes())?;
    let mut rng = Rng(seed ^ 0x5EED_0F1A_5EC7_0125);
    let departments: &[(&str, u64)] = &[
        ("zhian", 50),
        ("jindu", 15),
        ("wangan", 20),
        ("churujing", 15),
    ];
    for k in 1..=n {
        let department = weighted(&mut rng, departments);
        let mut quals = vec![match department {
            "jindu" => "precursor_chemicals",
            "wangan" => "cybersecurity",
            "churujing" => "exit_entry",
            _ => "public_order",
        }];
        if department == "zhian" {
            if rng.chance(25) {
                quals.push("explosives");
            }
            if rng.chance(20) {
                quals.push("firearms");
            }
        }
        let active = if rng.chance(97) { "是" } else { "否" };
        let town = weighted(&mut rng, TOWNS);
        let surname = rng.pick(SURNAMES);
        let given = rng.pick(GIVEN_NAMES);
        let conflict = if rng.chance(3) {
            format!("T{:010}", 1 + rng.below(100))
        } else {
            String::new()
        };
        writeln!(
            w,
            "P{k:07},{surname}{given},{department},鲁公执字{},{},{active},{town},{conflict}",
            37_130_000 + k,
            quals.join("；"),
        )?;
    }
    w.flush()
}
