//! Registry reading, validation, canonical form and generation.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::Datelike;
use chrono::NaiveDate;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use suiji::diag::{Diagnostic, Sources, render};
use suiji::registry::{
    self, Inspector, Known, Target, TargetStatus, canonical_inspectors_csv, canonical_targets_csv,
    generate, parse_canonical_inspectors, parse_canonical_targets, read_inspectors, read_targets,
};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The ids the shipped configuration knows.
fn known() -> Known {
    Known {
        categories: set(generate::CATEGORIES),
        qualifications: set(generate::QUALIFICATIONS),
        departments: set(generate::DEPARTMENTS),
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write test file");
    path
}

fn rendered(diags: &[Diagnostic]) -> String {
    render(&Sources::default(), diags)
}

const TARGETS: &str = "\
编号,名称,类别,所属区域,地址,重点区域,风险等级,许可证号,状态,上次检查日期,上次检查结果,房间数,法定代表人
91371326MA3C4LXK2R,平邑县蒙山宾馆,hotel,平邑街道,平邑县平邑街道莲花山路12号,是,A,平公特旅字第2019001号,正常,2023-05-06,未发现问题,40,王伟
92371326MA3D0Q7N1K,仲村顺发旅馆,hotel,仲村镇,\"平邑县仲村镇中心街8号,二楼\",否,C,,注销,2022/11/3,发现问题已责令改正,12,李静
91371326MA3E8HUJ5P,平邑县金鼎KTV,entertainment,平邑街道,平邑县平邑街道浚河路3号,,B,娱经许字3713260001号,,2023年1月9日,,,张强
";

fn target_rows() -> Vec<Target> {
    let mut first_extra = std::collections::BTreeMap::new();
    first_extra.insert("房间数".to_string(), "40".to_string());
    first_extra.insert("法定代表人".to_string(), "王伟".to_string());
    vec![
        Target {
            id: "91371326MA3C4LXK2R".into(),
            name: "平邑县蒙山宾馆".into(),
            category: "hotel".into(),
            district: "平邑街道".into(),
            address: "平邑县平邑街道莲花山路12号".into(),
            key_area: true,
            class: Some("A".into()),
            licence: Some("平公特旅字第2019001号".into()),
            status: TargetStatus::Active,
            last_inspected: NaiveDate::from_ymd_opt(2023, 5, 6),
            last_result: Some("未发现问题".into()),
            extra: first_extra,
        },
        Target {
            id: "92371326MA3D0Q7N1K".into(),
            name: "仲村顺发旅馆".into(),
            category: "hotel".into(),
            district: "仲村镇".into(),
            address: "平邑县仲村镇中心街8号,二楼".into(),
            key_area: false,
            class: Some("C".into()),
            licence: None,
            status: TargetStatus::Deregistered,
            last_inspected: NaiveDate::from_ymd_opt(2022, 11, 3),
            last_result: Some("发现问题已责令改正".into()),
            extra: [("房间数", "12"), ("法定代表人", "李静")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        },
        Target {
            id: "91371326MA3E8HUJ5P".into(),
            name: "平邑县金鼎KTV".into(),
            category: "entertainment".into(),
            district: "平邑街道".into(),
            address: "平邑县平邑街道浚河路3号".into(),
            key_area: false,
            class: Some("B".into()),
            licence: Some("娱经许字3713260001号".into()),
            status: TargetStatus::Active,
            last_inspected: NaiveDate::from_ymd_opt(2023, 1, 9),
            last_result: None,
            extra: [("法定代表人", "张强")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        },
    ]
}

fn read_clean_targets(path: &Path) -> Vec<Target> {
    let mut diags = Vec::new();
    let targets = read_targets(path, "targets", &known(), &mut diags);
    assert!(diags.is_empty(), "{}", rendered(&diags));
    targets
}

#[test]
fn utf8_bom_and_gbk_read_identically() {
    let dir = tempfile::tempdir().expect("tempdir");
    let utf8 = write(dir.path(), "utf8.csv", TARGETS.as_bytes());
    let bom = write(
        dir.path(),
        "bom.csv",
        &[&[0xEF, 0xBB, 0xBF][..], TARGETS.as_bytes()].concat(),
    );
    let (gbk_bytes, _, unmappable) = encoding_rs::GBK.encode(TARGETS);
    assert!(!unmappable);
    assert!(
        std::str::from_utf8(&gbk_bytes).is_err(),
        "the GBK bytes must not be valid UTF-8"
    );
    let gbk = write(dir.path(), "gbk.csv", &gbk_bytes);
    // Windows line ends, as Excel writes them.
    let crlf = write(
        dir.path(),
        "crlf.csv",
        TARGETS.replace('\n', "\r\n").as_bytes(),
    );

    let expected = target_rows();
    assert_eq!(read_clean_targets(&utf8), expected);
    assert_eq!(read_clean_targets(&bom), expected);
    assert_eq!(read_clean_targets(&gbk), expected);
    assert_eq!(read_clean_targets(&crlf), expected);
}

#[test]
fn trailing_unnamed_columns_may_be_left_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "t.csv",
        "编号,名称,类别,,\nT1,甲宾馆,hotel\nT2,乙宾馆,hotel,,\nT3,丙宾馆,hotel,,x\nT4,丁宾馆\n"
            .as_bytes(),
    );
    let mut diags = Vec::new();
    let rows = read_targets(&path, "t.csv", &known(), &mut diags);
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rendered(&diags),
        "\
warning: column 5 has no header; its values are ignored
  ┌─ t.csv:4:5
  = help: give the column a header, or delete it

error: row has 2 fields but the header has 5
  ┌─ t.csv:5:3
  = help: a value or a comma is missing; an empty value still needs its comma

"
    );
}

#[test]
fn english_headers_in_any_case_and_spacing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = "ID, Name ,CATEGORY,District,Address,Key Area,class,Licence,Status,Last_Inspected,last result,房间数,法定代表人\n"
        .to_string()
        + TARGETS.split_once('\n').map_or("", |(_, rest)| rest);
    let path = write(dir.path(), "en.csv", text.as_bytes());
    assert_eq!(read_clean_targets(&path), target_rows());
}

#[test]
fn xlsx_reads_like_csv_with_sheet_row_numbers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("targets.xlsx");
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    // A title row above the header, as many bureau spreadsheets have.
    sheet
        .write_string(0, 0, "平邑县检查对象名录库（2024年）")
        .expect("cell");
    let mut lines = TARGETS.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    for (c, h) in header.iter().enumerate() {
        sheet.write_string(1, c as u16, *h).expect("cell");
    }
    for (r, t) in target_rows().iter().enumerate() {
        let row = r as u32 + 2;
        let cells: [(u16, Option<&str>); 9] = [
            (0, Some(&t.id)),
            (1, Some(&t.name)),
            (2, Some(&t.category)),
            (3, Some(&t.district)),
            (4, Some(&t.address)),
            (6, t.class.as_deref()),
            (7, t.licence.as_deref()),
            (10, t.last_result.as_deref()),
            (12, t.extra.get("法定代表人").map(String::as_str)),
        ];
        for (c, v) in cells {
            if let Some(v) = v {
                sheet.write_string(row, c, v).expect("cell");
            }
        }
        if t.key_area {
            sheet.write_boolean(row, 5, true).expect("cell");
        } else if r == 1 {
            sheet.write_string(row, 5, "否").expect("cell");
        }
        if t.status == TargetStatus::Deregistered {
            sheet.write_string(row, 8, "注销").expect("cell");
        }
        if let Some(d) = t.last_inspected {
            let d = ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
                .expect("date");
            sheet
                .write_datetime_with_format(row, 9, d, &date)
                .expect("cell");
        }
        if let Some(rooms) = t.extra.get("房间数") {
            let n: f64 = rooms.parse().expect("number");
            sheet.write_number(row, 11, n).expect("cell");
        }
    }
    book.save(&path).expect("save xlsx");
    assert_eq!(read_clean_targets(&path), target_rows());

    // A bad cell is reported at its sheet row and column.
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "名录").expect("cell");
    for (c, h) in ["编号", "名称", "类别", "状态"].iter().enumerate() {
        sheet.write_string(2, c as u16, *h).expect("cell");
    }
    for (c, v) in ["T1", "甲宾馆", "hotel", "歇业"].iter().enumerate() {
        sheet.write_string(4, c as u16, *v).expect("cell");
    }
    sheet.write_number(5, 0, 9.137_132_6e17).expect("cell");
    sheet.write_string(5, 1, "乙宾馆").expect("cell");
    sheet.write_string(5, 2, "hotel").expect("cell");
    book.save(&path).expect("save xlsx");
    let mut diags = Vec::new();
    read_targets(&path, "targets.xlsx", &known(), &mut diags);
    assert_eq!(
        rendered(&diags),
        "\
error: unknown status `歇业`
  ┌─ targets.xlsx:5:4
  = help: write 正常 (also accepted: active, 在业, 存续) or 注销 (also accepted: deregistered, 吊销, 停业); empty means 正常

error: unusable value in column `编号`: the cell holds the number 9.1371326e17, too long for Excel to keep every digit
  ┌─ targets.xlsx:6:1
  = help: type the value in, or set the column format to Text (文本) and re-enter it

"
    );
}

#[test]
fn every_bad_target_row_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = "\
编号,名称,类别,所属区域,地址,重点区域,风险等级,状态,上次检查日期
T1,甲宾馆,hotel,平邑街道,地址1,是,A,正常,2023-05-06
T2,,hotel,平邑街道,地址2,否,B,正常,
T3,丙宾馆,hotle,仲村镇,地址3,maybe,C,歇业,2023-13-01
T1,丁宾馆,hotel,仲村镇,地址4,否,A,正常,2023/2/30
T5,戊网吧,internet_cafe,武台镇

,己网吧,internet_cafe,武台镇,地址6,否,B,正常,
9.13713E+17,庚网吧,internet_cafe,武台镇,地址7,否,B,正常,昨天
";
    let path = write(dir.path(), "targets.csv", text.as_bytes());
    let mut diags = Vec::new();
    let rows = read_targets(&path, "config/registry/targets.csv", &known(), &mut diags);
    assert_eq!(rows.len(), 6, "rows with field errors are still returned");
    assert!(diags.iter().all(Diagnostic::is_error));
    assert_eq!(
        rendered(&diags),
        "\
error: missing name (column `名称` is empty)
  ┌─ config/registry/targets.csv:3:2
  = help: fill in the target's name

error: unknown category `hotle`
  ┌─ config/registry/targets.csv:4:3
  = help: did you mean `hotel`?
  = help: known categories: blasting, entertainment, firearms_unit, fireworks_event, foreign_employer, hotel, internet_cafe, internet_culture, mass_event, network_operator, precursor_chemical, security_service

error: `重点区域` must be yes or no, found `maybe`
  ┌─ config/registry/targets.csv:4:6
  = help: write 是 or 否 (also accepted: true/false, yes/no, 1/0); empty means 否

error: unknown status `歇业`
  ┌─ config/registry/targets.csv:4:8
  = help: write 正常 (also accepted: active, 在业, 存续) or 注销 (also accepted: deregistered, 吊销, 停业); empty means 正常

error: `2023-13-01` is not a real date: there is no such day
  ┌─ config/registry/targets.csv:4:9
  = help: write the date as 2023-05-06, 2023/5/6 or 2023年5月6日

error: duplicate target id `T1`, first used at line 2
  ┌─ config/registry/targets.csv:5:1
  = help: each target id must be unique: correct it, or delete the repeated row

error: `2023/2/30` is not a real date: there is no such day
  ┌─ config/registry/targets.csv:5:9
  = help: write the date as 2023-05-06, 2023/5/6 or 2023年5月6日

error: row has 4 fields but the header has 9
  ┌─ config/registry/targets.csv:6:5
  = help: a value or a comma is missing; an empty value still needs its comma

error: missing id (column `编号` is empty)
  ┌─ config/registry/targets.csv:8:1
  = help: every target needs an id (e.g. its 统一社会信用代码)

error: id `9.13713E+17` looks like a long number Excel has turned into scientific notation
  ┌─ config/registry/targets.csv:9:1
  = help: the digits are lost: in Excel set the column format to Text (文本), re-enter the ids and save again

error: `昨天` is not a date
  ┌─ config/registry/targets.csv:9:9
  = help: write the date as 2023-05-06, 2023/5/6 or 2023年5月6日

"
    );
}

#[test]
fn every_bad_inspector_row_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = "\
工号,姓名,所属部门,执法证号,执法资格,在岗,区域,回避
P1,张伟,zhian,鲁公执字37130001,public_order；explosive,是,全县,
P2,李静,zhain,鲁公执字37130002,public_order,在,全县,
P3,王强,zhian,鲁公执字37130001,public_order、firearms,否,柏林镇,T9
P1,赵磊,jindu,,precursor_chemicals,,全县,
";
    let path = write(dir.path(), "inspectors.csv", text.as_bytes());
    let mut diags = Vec::new();
    let rows = read_inspectors(&path, "inspectors.csv", &known(), &mut diags);
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[2].qualifications, ["public_order", "firearms"]);
    assert_eq!(rows[2].conflicts, ["T9"]);
    assert!(!rows[2].active);
    assert!(rows[3].active, "an empty 在岗 means on duty");
    assert_eq!(
        rendered(&diags),
        "\
error: unknown qualification `explosive`
  ┌─ inspectors.csv:2:5
  = help: did you mean `explosives`?
  = help: known qualifications: cybersecurity, exit_entry, explosives, firearms, precursor_chemicals, public_order

error: unknown department `zhain`
  ┌─ inspectors.csv:3:3
  = help: did you mean `zhian`?
  = help: known departments: churujing, jindu, wangan, zhian

error: `在岗` must be yes or no, found `在`
  ┌─ inspectors.csv:3:6
  = help: write 是 or 否 (also accepted: 在岗/离岗, true/false, yes/no, 1/0); empty means 是 (on duty)

error: duplicate certificate number `鲁公执字37130001`, first used at line 2
  ┌─ inspectors.csv:4:4
  = help: each certificate number must be unique: correct it, or delete the repeated row

error: duplicate inspector id `P1`, first used at line 2
  ┌─ inspectors.csv:5:1
  = help: each inspector id must be unique: correct it, or delete the repeated row

error: missing certificate (column `执法证号` is empty)
  ┌─ inspectors.csv:5:4
  = help: fill in the law-enforcement certificate number (执法证号); only certified officers may inspect

"
    );
}

#[test]
fn missing_and_misspelt_headers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "inspectors.csv",
        "工号,姓名,部门,执法证件号,执法资格证,在岗\nP1,张伟,zhian,鲁公执字37130001,public_order,是\n".as_bytes(),
    );
    let mut diags = Vec::new();
    read_inspectors(&path, "inspectors.csv", &known(), &mut diags);
    let path = write(
        dir.path(),
        "targets.csv",
        "编号,名称,地址\nT1,甲宾馆,平邑县\n".as_bytes(),
    );
    read_targets(&path, "targets.csv", &known(), &mut diags);
    // A title row above the header; English headers; two columns for the id.
    let path = write(
        dir.path(),
        "en.csv",
        "Registry of targets,,,,\nID,Nmae,category,Key Aera,统一社会信用代码\nT1,x,hotel,是,T1\n"
            .as_bytes(),
    );
    read_targets(&path, "en.csv", &known(), &mut diags);
    assert_eq!(
        rendered(&diags),
        "\
error: missing required column `执法证号` (certificate)
  ┌─ inspectors.csv:1:4
  = help: did you mean `执法证号`? rename column 4 `执法证件号` to `执法证号`

warning: column `执法资格证` is not a known column name; it is kept as an extra column
  ┌─ inspectors.csv:1:5
  = help: did you mean `执法资格` (qualifications)? rename the column if so

error: missing required column `类别` (category)
  ┌─ targets.csv:1
  = help: add a column headed `类别` (also accepted: category, 行业类别)

error: missing required column `名称` (name)
  ┌─ en.csv:2:2
  = help: did you mean `name`? rename column 2 `Nmae` to `name`

warning: column `Key Aera` is not a known column name; it is kept as an extra column
  ┌─ en.csv:2:4
  = help: did you mean `key_area`? rename the column if so

error: columns 1 `ID` and 5 `统一社会信用代码` both give the target `id`
  ┌─ en.csv:2:5
  = help: keep one of them; rename the other to a header that is not a known column name (it is then kept as an extra column)

"
    );
}

#[test]
fn duplicate_ids_across_files_name_the_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = write(
        dir.path(),
        "a.csv",
        "编号,名称,类别\nT2,乙宾馆,hotel\nT1,甲宾馆,hotel\n".as_bytes(),
    );
    let b = write(
        dir.path(),
        "b.csv",
        "编号,名称,类别\nT3,丙网吧,internet_cafe\nT1,丁网吧,internet_cafe\n".as_bytes(),
    );
    let i = write(
        dir.path(),
        "i.csv",
        "工号,姓名,部门,执法证号\nP1,张伟,zhian,鲁公执字1\nP1,李静,zhian,鲁公执字2\n".as_bytes(),
    );
    let result = registry::load(
        &[a.clone(), b.clone()],
        std::slice::from_ref(&i),
        dir.path(),
        &known(),
    );
    let diags = result.expect_err("duplicates must fail the load");
    assert_eq!(
        rendered(&diags),
        "\
error: duplicate target id `T1`, first used at a.csv:3
  ┌─ b.csv:3:1
  = help: each target id must be unique: correct it, or delete the repeated row

error: duplicate inspector id `P1`, first used at line 2
  ┌─ i.csv:3:1
  = help: each inspector id must be unique: correct it, or delete the repeated row

"
    );

    // Without the duplicates the registry loads, sorted by id, with each file's hash.
    let b = write(
        dir.path(),
        "b.csv",
        "编号,名称,类别\nT3,丙网吧,internet_cafe\n".as_bytes(),
    );
    let i = write(
        dir.path(),
        "i.csv",
        "工号,姓名,部门,执法证号\nP2,李静,zhian,鲁公执字2\nP1,张伟,zhian,鲁公执字1\n".as_bytes(),
    );
    let reg = registry::load(
        &[a.clone(), b.clone()],
        std::slice::from_ref(&i),
        dir.path(),
        &known(),
    )
    .expect("loads");
    let ids: Vec<&str> = reg.targets.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["T1", "T2", "T3"]);
    let ids: Vec<&str> = reg.inspectors.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["P1", "P2"]);
    let hash = |p: &Path| {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(std::fs::read(p).expect("read")))
    };
    assert_eq!(
        reg.sources,
        [
            ("a.csv".to_string(), hash(&a)),
            ("b.csv".to_string(), hash(&b)),
            ("i.csv".to_string(), hash(&i)),
        ]
    );
}

#[test]
fn unreadable_files_are_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let garbage = write(
        dir.path(),
        "garbage.csv",
        &[&b"id,name\nT1,"[..], &[0x81, 0x0A, 0xFF], &b"\n"[..]].concat(),
    );
    let empty = write(dir.path(), "empty.csv", b"");
    let utf16 = write(dir.path(), "utf16.csv", &[0xFF, 0xFE, b'i', 0, b'd', 0]);
    let missing = dir.path().join("missing.csv");
    let result = registry::load(
        &[garbage, empty, utf16, missing],
        &[],
        dir.path(),
        &Known::default(),
    );
    let diags = result.expect_err("must fail");
    let os_error = std::fs::read(dir.path().join("missing.csv"))
        .expect_err("missing")
        .to_string();
    assert_eq!(
        rendered(&diags),
        format!(
            "\
error: the file is neither UTF-8 nor GBK text: the bytes here are valid in neither
  ┌─ garbage.csv:2:4
  = help: in Excel choose 另存为 → \"CSV UTF-8(逗号分隔)\"; in an editor save the file as UTF-8

error: the target file is empty
  ┌─ empty.csv:1
  = help: the first row must be the header, e.g. 编号,名称,类别,所属区域,地址,重点区域,风险等级,许可证号,状态,上次检查日期,上次检查结果

error: utf16.csv: the file is UTF-16 (Excel's \"Unicode 文本\"), which is not read
  = help: in Excel choose 另存为 → \"CSV UTF-8(逗号分隔)\"; in an editor save the file as UTF-8

error: cannot read `missing.csv`: {os_error}
  = help: check the path in `[registries]` of config/suiji.toml and that the file is readable

"
        )
    );
}

/// Known sets for the demo: the ids the shipped rules name.
#[test]
fn demo_registries_load_clean() {
    let root = root();
    let targets = [root.join("config/registry/targets.csv")];
    let inspectors = [root.join("config/registry/inspectors.csv")];
    let (reg, warnings) = match registry::check(&targets, &inspectors, &root, &known()) {
        Ok(ok) => ok,
        Err(diags) => panic!("{}", rendered(&diags)),
    };
    assert!(warnings.is_empty(), "{}", rendered(&warnings));
    assert_eq!(reg.sources[0].0, "config/registry/targets.csv");
    assert_eq!(reg.sources[1].0, "config/registry/inspectors.csv");

    let count = |c: &str| reg.targets.iter().filter(|t| t.category == c).count();
    for (c, n) in [
        ("hotel", 300),
        ("entertainment", 60),
        ("security_service", 25),
        ("blasting", 6),
        ("fireworks_event", 4),
        ("mass_event", 12),
        ("firearms_unit", 5),
        ("precursor_chemical", 40),
        ("internet_cafe", 35),
        ("network_operator", 30),
        ("internet_culture", 10),
        ("foreign_employer", 15),
    ] {
        assert_eq!(count(c), n, "{c}");
    }
    assert!(reg.targets.iter().filter(|t| t.key_area).count() >= 20);
    assert!(
        reg.targets
            .iter()
            .any(|t| t.status == TargetStatus::Deregistered)
    );
    for class in ["A", "B", "C", "D"] {
        assert!(
            reg.targets
                .iter()
                .any(|t| t.class.as_deref() == Some(class)),
            "{class}"
        );
    }
    assert!(
        reg.targets
            .iter()
            .filter(|t| t.last_inspected.is_some())
            .count()
            > 100
    );

    let dept = |d: &str| reg.inspectors.iter().filter(|i| i.department == d).count();
    assert_eq!(
        (
            dept("zhian"),
            dept("jindu"),
            dept("wangan"),
            dept("churujing")
        ),
        (20, 6, 8, 6)
    );
    let has = |q: &str| {
        reg.inspectors
            .iter()
            .filter(|i| i.qualifications.iter().any(|x| x == q))
            .count()
    };
    assert!(has("firearms") >= 4 && has("explosives") >= 4);
    let base = |i: &Inspector| match i.department.as_str() {
        "zhian" => "public_order",
        "jindu" => "precursor_chemicals",
        "wangan" => "cybersecurity",
        _ => "exit_entry",
    };
    assert!(
        reg.inspectors
            .iter()
            .all(|i| i.qualifications.iter().any(|q| q == base(i)))
    );
    assert!(reg.inspectors.iter().any(|i| !i.active));
    assert!(
        reg.inspectors
            .iter()
            .filter(|i| !i.conflicts.is_empty())
            .count()
            >= 3
    );
}

#[test]
fn canonical_csv_round_trips() {
    let root = root();
    let reg = registry::load(
        &[root.join("config/registry/targets.csv")],
        &[root.join("config/registry/inspectors.csv")],
        &root,
        &known(),
    )
    .expect("demo loads");
    let t = canonical_targets_csv(&reg.targets);
    let i = canonical_inspectors_csv(&reg.inspectors);
    assert_eq!(parse_canonical_targets(&t).as_ref(), Ok(&reg.targets));
    assert_eq!(parse_canonical_inspectors(&i).as_ref(), Ok(&reg.inspectors));
    assert!(t.starts_with(b"id,name,category,district,address,key_area,class,licence,status,last_inspected,last_result,"));

    // Awkward values: quotes, commas, line breaks, rows with different extra columns.
    let mut awkward = target_rows();
    awkward[0].name = "\"老字号\"宾馆, 二店\n(新)".into();
    awkward[2].extra.insert("备注".into(), "含,逗号".into());
    let bytes = canonical_targets_csv(&awkward);
    assert_eq!(parse_canonical_targets(&bytes).as_ref(), Ok(&awkward));
    assert_eq!(
        canonical_targets_csv(&parse_canonical_targets(&bytes).expect("parses")),
        bytes
    );

    let inspectors = vec![Inspector {
        id: "P1".into(),
        name: "张伟".into(),
        department: "zhian".into(),
        certificate: "鲁公执字37130001".into(),
        qualifications: vec!["public_order".into(), "firearms".into()],
        active: false,
        area: "".into(),
        conflicts: vec![],
        extra: Default::default(),
    }];
    let bytes = canonical_inspectors_csv(&inspectors);
    assert_eq!(
        String::from_utf8_lossy(&bytes),
        "id,name,department,certificate,qualifications,active,area,conflicts\nP1,张伟,zhian,鲁公执字37130001,public_order;firearms,false,,\n"
    );
    assert_eq!(parse_canonical_inspectors(&bytes), Ok(inspectors));

    assert!(parse_canonical_targets(b"").is_err());
    assert!(parse_canonical_targets("编号,名称\n".as_bytes()).is_err());
    assert!(parse_canonical_inspectors(b"id,name,department,certificate,qualifications,active,area,conflicts\nP1,a,b,c,,maybe,,\n").is_err());
}

#[test]
fn generated_registries_load_clean_and_are_deterministic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t1 = dir.path().join("t1.csv");
    let t2 = dir.path().join("t2.csv");
    let t3 = dir.path().join("t3.csv");
    let i1 = dir.path().join("i1.csv");
    let i2 = dir.path().join("i2.csv");
    generate::write_targets(&t1, 1000, 7).expect("generate");
    generate::write_targets(&t2, 1000, 7).expect("generate");
    generate::write_targets(&t3, 1000, 8).expect("generate");
    generate::write_inspectors(&i1, 200, 7).expect("generate");
    generate::write_inspectors(&i2, 200, 7).expect("generate");
    let read = |p: &Path| std::fs::read(p).expect("read");
    assert_eq!(read(&t1), read(&t2));
    assert_ne!(read(&t1), read(&t3));
    assert_eq!(read(&i1), read(&i2));

    let (reg, warnings) = match registry::check(&[t1], &[i1], dir.path(), &known()) {
        Ok(ok) => ok,
        Err(diags) => panic!("{}", rendered(&diags)),
    };
    assert!(warnings.is_empty(), "{}", rendered(&warnings));
    assert_eq!(reg.targets.len(), 1000);
    assert_eq!(reg.inspectors.len(), 200);
    let hotels = reg.targets.iter().filter(|t| t.category == "hotel").count();
    assert!((450..650).contains(&hotels), "{hotels} hotels");
    let key = reg.targets.iter().filter(|t| t.key_area).count();
    assert!((60..140).contains(&key), "{key} in key areas");
    assert!(
        reg.targets
            .iter()
            .any(|t| t.status == TargetStatus::Deregistered)
    );
    assert!(reg.targets.iter().any(|t| t.last_inspected.is_some()));
    assert!(
        reg.inspectors
            .iter()
            .any(|i| i.qualifications.iter().any(|q| q == "firearms"))
    );
}

mod canonical_props {
    use super::*;
    use proptest::collection::{btree_map, vec};
    use proptest::option;
    use proptest::prelude::*;

    /// Text as staff write it, with the characters CSV must quote.
    fn text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 平邑县宾馆\",\n\r;、|]{0,12}"
    }

    fn non_empty() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 平邑县宾馆\",\n]{1,12}"
    }

    /// List items never contain a separator and are never empty (the reader splits and drops them).
    fn item() -> impl Strategy<Value = String> {
        "[a-z_0-9平邑]{1,10}"
    }

    fn target() -> impl Strategy<Value = Target> {
        (
            (text(), text(), text(), text(), text(), any::<bool>()),
            (
                option::of(non_empty()),
                option::of(non_empty()),
                any::<bool>(),
            ),
            (
                option::of((2000i32..2030, 1u32..13, 1u32..29)),
                option::of(non_empty()),
            ),
            btree_map("[a-z房间数备注]{1,6}", non_empty(), 0..3),
        )
            .prop_map(
                |(
                    (id, name, category, district, address, key_area),
                    (class, licence, dereg),
                    (date, last_result),
                    extra,
                )| Target {
                    id,
                    name,
                    category,
                    district,
                    address,
                    key_area,
                    class,
                    licence,
                    status: if dereg {
                        TargetStatus::Deregistered
                    } else {
                        TargetStatus::Active
                    },
                    last_inspected: date.and_then(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d)),
                    last_result,
                    extra,
                },
            )
    }

    fn inspector() -> impl Strategy<Value = Inspector> {
        (
            text(),
            text(),
            text(),
            text(),
            vec(item(), 0..4),
            any::<bool>(),
            text(),
            vec(item(), 0..3),
        )
            .prop_map(
                |(id, name, department, certificate, qualifications, active, area, conflicts)| {
                    Inspector {
                        id,
                        name,
                        department,
                        certificate,
                        qualifications,
                        active,
                        area,
                        conflicts,
                        extra: Default::default(),
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn targets_round_trip(targets in vec(target(), 0..8)) {
            let bytes = canonical_targets_csv(&targets);
            prop_assert_eq!(parse_canonical_targets(&bytes), Ok(targets));
        }

        #[test]
        fn inspectors_round_trip(inspectors in vec(inspector(), 0..8)) {
            let bytes = canonical_inspectors_csv(&inspectors);
            prop_assert_eq!(parse_canonical_inspectors(&bytes), Ok(inspectors));
        }
    }

    proptest! {
        /// Whatever bytes a file holds, reading reports problems and never panics.
        #[test]
        fn reading_never_panics(
            body in "[a-zA-Z0-9,\"\n\r 是否正常注销编号名称类别上次检查日期年月日/-]{0,200}",
            raw in vec(any::<u8>(), 0..64),
        ) {
            let dir = tempfile::tempdir().expect("tempdir");
            let header = "编号,名称,类别,重点区域,状态,上次检查日期,回避,在岗\n";
            for (name, bytes) in [
                ("a.csv", [header.as_bytes(), body.as_bytes()].concat()),
                ("b.csv", body.clone().into_bytes()),
                ("c.csv", raw.clone()),
                ("d.xlsx", raw.clone()),
            ] {
                let path = write(dir.path(), name, &bytes);
                let mut diags = Vec::new();
                read_targets(&path, name, &known(), &mut diags);
                read_inspectors(&path, name, &known(), &mut diags);
                let _ = rendered(&diags);
            }
        }
    }
}

#[test]
fn a_shared_inspector_registry_skips_departments_without_rule_files_and_keeps_other_columns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "inspectors.csv",
        "工号,姓名,所属部门,执法证号,执法资格,在岗,区域,回避,曾任职单位,职务\n\
         P1,张伟,zhian,鲁公执字37130001,public_order,是,全县,,平邑县蒙山宾馆,科员\n\
         S1,李娜,shuiwu,鲁税执字001,,是,全县,,,\n\
         S2,王强,shuiwu,鲁税执字002,,是,全县,,,\n\
         P2,赵敏,zhian,鲁公执字37130002,public_order,是,全县,,,\n"
            .as_bytes(),
    );
    let mut diags = Vec::new();
    let inspectors = read_inspectors(&path, "inspectors.csv", &known(), &mut diags);
    // Not refused: a note for the department without a rule file, its rows skipped.
    assert!(diags.iter().all(|d| !d.is_error()), "{}", rendered(&diags));
    assert!(
        rendered(&diags)
            .contains("2 rows of department `shuiwu` skipped: it has no rule file here"),
        "{}",
        rendered(&diags)
    );
    let ids: Vec<&str> = inspectors.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["P1", "P2"]);
    // The other columns are kept, every one for every inspector (an empty cell as ""), and
    // round-trip through the canonical snapshot.
    assert_eq!(inspectors[0].extra["曾任职单位"], "平邑县蒙山宾馆");
    assert_eq!(inspectors[0].extra["职务"], "科员");
    assert_eq!(inspectors[1].extra["曾任职单位"], "");
    let bytes = canonical_inspectors_csv(&inspectors);
    let text = String::from_utf8(bytes.clone()).expect("UTF-8");
    assert_eq!(
        text,
        "id,name,department,certificate,qualifications,active,area,conflicts,曾任职单位,职务\n\
         P1,张伟,zhian,鲁公执字37130001,public_order,true,全县,,平邑县蒙山宾馆,科员\n\
         P2,赵敏,zhian,鲁公执字37130002,public_order,true,全县,,,\n"
    );
    let back = parse_canonical_inspectors(&bytes).expect("parses");
    assert_eq!(back, inspectors);
    // Without other columns the snapshot is the eight columns alone, as it always was.
    let plain: Vec<Inspector> = inspectors
        .iter()
        .map(|i| Inspector {
            extra: Default::default(),
            ..i.clone()
        })
        .collect();
    assert!(
        String::from_utf8(canonical_inspectors_csv(&plain))
            .expect("UTF-8")
            .starts_with("id,name,department,certificate,qualifications,active,area,conflicts\n")
    );
}

#[test]
fn hooks_see_the_inspector_registrys_other_columns_as_fields() {
    let inspector = Inspector {
        id: "P1".into(),
        name: "张伟".into(),
        department: "zhian".into(),
        certificate: "C1".into(),
        qualifications: vec![],
        active: true,
        area: String::new(),
        conflicts: vec![],
        extra: [
            ("former_employer".to_string(), "平邑县蒙山宾馆".to_string()),
            ("曾任职年数".to_string(), "3".to_string()),
            ("备注".to_string(), String::new()),
            ("name".to_string(), "not the name".to_string()),
        ]
        .into_iter()
        .collect(),
    };
    let map = suiji::script::inspector_map(&inspector);
    let map = map.cast::<rhai::Map>();
    assert_eq!(
        map["former_employer"].clone().into_string().expect("text"),
        "平邑县蒙山宾馆"
    );
    assert_eq!(map["曾任职年数"].as_int().expect("a number"), 3);
    assert!(map["备注"].is_unit(), "an empty cell is ()");
    assert_eq!(map["name"].clone().into_string().expect("text"), "张伟");
}

/// What `check` and `plan` know of every target without holding the targets — counted by
/// category, each column's values by category, in one pass over the snapshot file
/// (`registry::tally`) — is what the registry loaded whole gives, for field names, headers and
/// an extra column alike.
#[test]
fn a_tally_of_the_snapshot_is_what_the_loaded_registry_gives() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("targets.csv");
    generate::write_targets(&path, 3000, 7).expect("generate");
    let known = known();
    let (reg, _) = registry::check(std::slice::from_ref(&path), &[], dir.path(), &known)
        .expect("a clean registry");
    let snapshot = write(
        dir.path(),
        "snapshot.csv",
        &canonical_targets_csv(&reg.targets),
    );
    let named: Vec<String> = [
        "class",
        "district",
        "风险等级",
        "法定代表人",
        "key_area",
        "status",
        "last_inspected",
        "no such column",
    ]
    .map(String::from)
    .into();
    let got = registry::tally::tally(&snapshot, &known, &named).expect("tally");
    let mut by_category = std::collections::BTreeMap::new();
    for t in &reg.targets {
        *by_category.entry(t.category.clone()).or_insert(0) += 1;
    }
    assert_eq!(got.by_category, by_category);
    let is_extra = |h: &str| reg.targets.iter().any(|t| t.extra.contains_key(h));
    for (n, values) in named.iter().zip(&got.values) {
        let column = registry::column::Column::named(n, is_extra);
        let mut want = registry::tally::Values::new();
        for t in &reg.targets {
            let v = column.value(t);
            if !v.is_empty() {
                want.entry(t.category.clone()).or_default().insert(v);
            }
        }
        assert_eq!(values, &want, "column {n}");
    }
    assert!(got.values.iter().filter(|v| !v.is_empty()).count() >= 6);
}
