using System.Text;
using EtlStream.Formats.Csv;
using EtlStream.Pipeline;
using EtlStream.Sinks;
using EtlStream.Sources.Local;
using EtlStream.Tables;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Formats;

/// <summary>
/// CSV dialects without a full spec: a spec of only <c>csv:</c> options (every header a string), declared encodings,
/// and the warning when a file read with the wrong delimiter would land in one column.
/// </summary>
public sealed class CsvDialectTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private async Task<(LoadResult Result, string Db, ListLogger Log)> LoadAsync(string name, byte[] bytes, string? specYaml)
    {
        var input = _dir.File(name);
        await File.WriteAllBytesAsync(input, bytes);
        var db = _dir.File($"{Guid.NewGuid():N}.duckdb");
        var log = new ListLogger();
        var pipeline = new LoadPipeline(new LoadOptions(), log);
        await using var sink = SinkTarget.Create($"duckdb:{db}?table=t", "t");
        var result = await pipeline.RunAsync(LocalFileSource.List(input), specYaml is null ? null : TableSpecReader.Read(specYaml, "spec.yaml"), sink, default);
        return (result, db, log);
    }

    [Fact]
    public void A_spec_without_columns_is_read_with_its_csv_options_and_infers_the_columns()
    {
        var spec = TableSpecReader.Read("table: t\ncsv: { delimiter: \"\\t\", header: false, encoding: latin1 }\n", "spec.yaml");

        Assert.True(spec.InferColumns);
        Assert.Empty(spec.Columns);
        Assert.Equal(((byte)'\t', false, CsvEncoding.Latin1), (spec.Csv.Delimiter, spec.Csv.HasHeader, spec.Csv.Encoding));
    }

    [Theory]
    [InlineData("table: t\ncolumns: 5\n", "spec.yaml: columns: a list of columns (or leave columns out to read every header as a nullable string)")]
    [InlineData("table: t\ncsv: { encoding: ebcdic }\n", "spec.yaml: csv.encoding: unknown encoding 'ebcdic' (expected utf-8, latin1 (iso-8859-1), windows-1252 (cp1252), utf-16 (utf-16le), utf-16be)")]
    [InlineData("table: t\ncsv: { delimiter: ab }\n", "spec.yaml: csv.delimiter: expected one ASCII character (or \\t / tab), got 'ab'")]
    public void Bad_dialect_settings_are_refused_with_their_path(string yaml, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => TableSpecReader.Read(yaml, "spec.yaml"));

        Assert.Equal([expected], e.Errors);
    }

    [Fact]
    public async Task A_spec_of_only_csv_options_loads_every_header_as_a_trimmed_string_and_applies_its_filter()
    {
        const string Spec = "table: t\ntrim: true\ncsv: { delimiter: tab, null: [\"NA\"] }\nfilter:\n  - { column: region, in: [North] }\n";

        var (result, db, _) = await LoadAsync("day.tsv", Encoding.UTF8.GetBytes("id\tregion\tnote\n1\tNorth\t a \n2\tSouth\tb\n3\tNorth\tNA\n"), Spec);

        Assert.Equal((3L, 2L, 1L), (result.RowsRead, result.RowsLoaded, result.RowsFiltered));
        Assert.Equal([("id", "VARCHAR"), ("region", "VARCHAR"), ("note", "VARCHAR")], DuckDbQuery.Describe(db, "t"));
        Assert.Equal([["1", "North", "a"], ["3", "North", null]], DuckDbQuery.Rows(db, "SELECT id, region, note FROM t ORDER BY id"));
    }

    [Fact]
    public async Task A_filter_or_key_on_a_column_the_header_lacks_fails_naming_the_spec_file_and_the_header()
    {
        const string Spec = "table: t\nkey: [code]\nfilter:\n  - { column: qty, op: \">\", value: 0 }\n";

        var e = await Assert.ThrowsAsync<ConfigException>(() => LoadAsync("day.csv", "id,rate\n1,2\n"u8.ToArray(), Spec));

        Assert.Equal(
            [
                $"spec.yaml: filter[0].column: unknown column 'qty': the columns are read from {_dir.File("day.csv")}'s header, which has: id, rate",
                $"spec.yaml: key: unknown column 'code': the columns are read from {_dir.File("day.csv")}'s header, which has: id, rate",
            ],
            e.Errors);
        Assert.Empty(Directory.GetFiles(_dir.Path, "*.duckdb")); // refused before the sink was opened
    }

    [Fact]
    public async Task Without_a_header_the_columns_are_named_by_position_and_the_first_line_is_a_row()
    {
        var (result, db, _) = await LoadAsync("day.csv", "1;a\n2;b\n"u8.ToArray(), "table: t\ncsv: { delimiter: \";\", header: false }\n");

        Assert.Equal(2L, result.RowsLoaded);
        Assert.Equal([["1", "a"], ["2", "b"]], DuckDbQuery.Rows(db, "SELECT column1, column2 FROM t ORDER BY column1"));
    }

    [Theory]
    [InlineData("id\trate\n1\t2.5\n", "header", "tabs", "'\\t'")]
    [InlineData("id;rate\n1;2.5\n", "header", "semicolons", "';'")]
    [InlineData("id|rate\n1|2.5\n", "header", "pipes", "'|'")]
    public async Task A_file_read_as_one_column_with_another_delimiter_in_its_header_warns_how_to_read_it(string csv, string row, string what, string option)
    {
        var (result, db, log) = await LoadAsync("day.tsv", Encoding.UTF8.GetBytes(csv), null);

        Assert.Equal(1L, result.RowsLoaded);
        Assert.Single(DuckDbQuery.Describe(db, "t"));
        Assert.Contains($"{_dir.File("day.tsv")}: every row has one column, but the {row} holds {what}: use --delimiter {option} (or csv.delimiter in the spec)", log.Messages);
    }

    [Theory]
    [InlineData("id\n1\n", null)]
    [InlineData("id;rate\n1;2\n", "table: t\ncsv: { delimiter: \";\" }\n")]
    [InlineData("\"a;b\"\n1\n", "table: t\ncsv: { delimiter: \";\" }\n")]
    public async Task No_one_column_warning_when_the_header_holds_no_other_delimiter(string csv, string? spec)
    {
        var (_, _, log) = await LoadAsync("day.csv", Encoding.UTF8.GetBytes(csv), spec);

        Assert.DoesNotContain(log.Messages, m => m.Contains("every row has one column", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Latin1_and_windows_1252_are_transcoded_when_declared()
    {
        // 0xFC is ü in both; 0x80 is € in Windows-1252 but a C1 control character in ISO-8859-1.
        byte[] bytes = [.. "id,name\n1,M"u8, 0xFC, .. "ller "u8, 0x80, (byte)'\n'];

        var (_, latin1Db, _) = await LoadAsync("l1.csv", bytes, "table: t\ncsv: { encoding: latin1 }\n");
        var (_, cp1252Db, _) = await LoadAsync("w.csv", bytes, "table: t\ncsv: { encoding: windows-1252 }\n");

        Assert.Equal([["Müller \u0080"]], DuckDbQuery.Rows(latin1Db, "SELECT name FROM t"));
        Assert.Equal([["Müller €"]], DuckDbQuery.Rows(cp1252Db, "SELECT name FROM t"));
    }

    [Theory]
    [InlineData("utf-16", false)]
    [InlineData("utf-16be", true)]
    public async Task Utf16_without_a_byte_order_mark_loads_when_declared(string name, bool bigEndian)
    {
        var bytes = new UnicodeEncoding(bigEndian, byteOrderMark: false).GetBytes("id,name\n1,Şahin 😀\n");

        var (_, db, _) = await LoadAsync("u.csv", bytes, $"table: t\ncsv: {{ encoding: {name} }}\n");

        Assert.Equal([["1", "Şahin 😀"]], DuckDbQuery.Rows(db, "SELECT id, name FROM t"));
    }

    [Fact]
    public async Task A_byte_order_mark_wins_over_the_declared_encoding()
    {
        byte[] bytes = [0xEF, 0xBB, 0xBF, .. "id,name\n1,Müller\n"u8];

        var (_, db, _) = await LoadAsync("b.csv", bytes, "table: t\ncsv: { encoding: latin1 }\n");

        Assert.Equal([["1", "Müller"]], DuckDbQuery.Rows(db, "SELECT id, name FROM t"));
    }

    [Fact]
    public async Task A_header_read_by_two_spec_columns_is_not_reported_as_reordered()
    {
        const string Spec = "table: t\ncolumns:\n  - { name: id, type: int64 }\n  - { name: name_raw, type: string, source: name }\n  - { name: name, type: string, trim: true }\n";

        var (result, db, log) = await LoadAsync("day.csv", "id,name\n1, a \n"u8.ToArray(), Spec);

        Assert.Equal(1L, result.RowsLoaded);
        Assert.Equal([[1L, " a ", "a"]], DuckDbQuery.Rows(db, "SELECT id, name_raw, name FROM t"));
        Assert.DoesNotContain(log.Messages, m => m.Contains("differs from the spec", StringComparison.Ordinal));
    }
}
