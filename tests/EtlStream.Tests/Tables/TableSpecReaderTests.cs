using EtlStream.Tables;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Tables;

public class TableSpecReaderTests
{
    [Fact]
    public void Reads_the_standard_job_spec()
    {
        var spec = TableSpecReader.ReadFile(Path.Combine(RepoPaths.Root, "perf", "jobs", "invoices.yaml"));
        Assert.Equal("fact_invoice_secondary", spec.Name);
        Assert.Equal(23, spec.Columns.Count);
        Assert.Equal("invoice_key", spec.Columns[0].Name);
        Assert.Equal(new ColumnType(ColumnKind.Decimal, 18, 2), spec.Columns.Single(c => c.Name == "gross_amount").Type);
        Assert.True(spec.Columns.Single(c => c.Name == "dealer_name").Trim);
        Assert.Equal(("qty", FilterOp.NotEqual), (spec.Filters.Single().Column, spec.Filters.Single().Op));
        Assert.Equal(["0"], spec.Filters.Single().Values);
    }

    [Fact]
    public void Reports_every_error_at_once_with_its_path()
    {
        var yaml = """
            table: t
            colour: red
            columns:
              - { name: a, type: intt }
              - { name: b, type: "decimal(40,2)" }
              - { name: c, type: string, format: dd-MM-yyyy, nullabel: false }
              - { name: c, type: date, format: "yyyy-QQ-dd" }
              - { name: k, type: string, computed: { concat: [nope] } }
            filter:
              - { column: missing, op: "=", value: 1 }
              - { column: b, op: "~", value: 1 }
            """;
        var e = Assert.Throws<ConfigException>(() => TableSpecReader.Read(yaml, "spec.yaml"));
        Assert.Contains("spec.yaml: colour: unknown key (expected one of: table, format, csv, json, trim, columns, filter, key, on_error, max_reject_ratio, schema_drift, decompression)", e.Errors);
        Assert.Contains("spec.yaml: columns[0].type: unknown type 'intt' (expected string, varchar(n), int8, int16, int32, int64, decimal(p,s), float64, bool, date, timestamp)", e.Errors);
        Assert.Contains("spec.yaml: columns[1].type: decimal precision must be 1..38 and scale 0..precision, got 'decimal(40,2)'", e.Errors);
        Assert.Contains("spec.yaml: columns[2].format: only date and timestamp columns take a format, this one is string", e.Errors);
        Assert.Contains(e.Errors, m => m.StartsWith("spec.yaml: columns[2].nullabel: unknown key", StringComparison.Ordinal));
        Assert.Contains(e.Errors, m => m.StartsWith("spec.yaml: columns[3].format: unsupported pattern 'yyyy-QQ-dd'", StringComparison.Ordinal));
        Assert.Contains("spec.yaml: columns[3].name: duplicate column 'c'", e.Errors);
        Assert.Contains("spec.yaml: columns[4].computed.concat[0]: 'nope' is not a column read from the source", e.Errors);
        Assert.Contains("spec.yaml: filter[0].column: unknown column 'missing'", e.Errors);
        Assert.Contains(e.Errors, m => m.StartsWith("spec.yaml: filter[1].op: unknown operator '~'", StringComparison.Ordinal));
    }

    [Fact]
    public void A_filter_literal_must_fit_its_column()
    {
        var e = Assert.Throws<ConfigException>(() => TableSpecReader.Read("table: t\ncolumns: [{ name: q, type: int64 }]\nfilter: [{ column: q, op: '=', value: abc }]\n", "s.yaml"));
        Assert.Equal(["s.yaml: filter[0].value: 'abc' is not a valid int64 value: not an integer"], e.Errors);
    }

    [Fact]
    public void Invalid_yaml_names_the_position()
    {
        var e = Assert.Throws<ConfigException>(() => TableSpecReader.Read("table: [unclosed\n", "s.yaml"));
        Assert.StartsWith("s.yaml:", e.Errors.Single());
        Assert.Contains("invalid YAML", e.Errors.Single());
    }

    [Fact]
    public void Rules_and_policies_are_checked_with_their_paths()
    {
        var yaml = """
            table: t
            on_error: skip
            max_reject_ratio: 2
            columns:
              - { name: a, type: int64, rules: { range: { min: x } } }
              - { name: b, type: string, overflow: truncate, rules: { regex: "([", colour: 1 } }
              - { name: c, type: string, rules: { range: { max: 3 } } }
            """;
        var e = Assert.Throws<ConfigException>(() => TableSpecReader.Read(yaml, "s.yaml"));
        Assert.Contains("s.yaml: columns[0].rules.range: 'x' is not a int64 bound: not an integer", e.Errors);
        Assert.Contains("s.yaml: columns[1].overflow: only varchar(n) columns can be truncated", e.Errors);
        Assert.Contains(e.Errors, m => m.StartsWith("s.yaml: columns[1].rules.regex: invalid regular expression", StringComparison.Ordinal));
        Assert.Contains(e.Errors, m => m.StartsWith("s.yaml: columns[1].rules.colour: unknown key", StringComparison.Ordinal));
        Assert.Contains("s.yaml: columns[2].rules.range: range needs a number, date or timestamp column, this one is string", e.Errors);
        Assert.Contains("s.yaml: on_error: unknown policy 'skip' (expected reject_row, fail_file or null_value)", e.Errors);
        Assert.Contains("s.yaml: max_reject_ratio: expected a number from 0 to 1, got '2'", e.Errors);
    }
}
