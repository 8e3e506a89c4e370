fn main() {
    let sql = std::fs::read_to_string("/tmp/t.sql").unwrap();
    println!("{:#?}", schemactl::parse::parse_table(&sql));
}
