//! The seven statutory holidays (法定节假日).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Holiday {
    /// 元旦
    NewYear,
    /// 春节
    SpringFestival,
    /// 清明节
    Qingming,
    /// 劳动节
    LabourDay,
    /// 端午节
    DragonBoat,
    /// 中秋节
    MidAutumn,
    /// 国庆节
    NationalDay,
}

impl Holiday {
    pub const ALL: [Holiday; 7] = [
        Holiday::NewYear,
        Holiday::SpringFestival,
        Holiday::Qingming,
        Holiday::LabourDay,
        Holiday::DragonBoat,
        Holiday::MidAutumn,
        Holiday::NationalDay,
    ];

    /// The id used in rule and calendar files.
    pub fn id(self) -> &'static str {
        match self {
            Holiday::NewYear => "yuandan",
            Holiday::SpringFestival => "chunjie",
            Holiday::Qingming => "qingming",
            Holiday::LabourDay => "laodong",
            Holiday::DragonBoat => "duanwu",
            Holiday::MidAutumn => "zhongqiu",
            Holiday::NationalDay => "guoqing",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Holiday::NewYear => "元旦",
            Holiday::SpringFestival => "春节",
            Holiday::Qingming => "清明节",
            Holiday::LabourDay => "劳动节",
            Holiday::DragonBoat => "端午节",
            Holiday::MidAutumn => "中秋节",
            Holiday::NationalDay => "国庆节",
        }
    }

    /// Accepts the id ("chunjie") or the Chinese name ("春节", "国庆").
    pub fn parse(s: &str) -> Option<Holiday> {
        let s = s.trim();
        Holiday::ALL
            .into_iter()
            .find(|h| h.id() == s || h.name_zh() == s || h.name_zh().trim_end_matches('节') == s)
    }
}

impl fmt::Display for Holiday {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name_zh())
    }
}
