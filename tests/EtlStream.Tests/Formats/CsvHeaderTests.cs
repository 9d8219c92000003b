using EtlStream.Formats.Csv;
using EtlStream.Pipeline;
using EtlStream.Sinks;
using EtlStream.Sources.Local;
using EtlStream.Tables;
using EtlStream.Tests.Support;
using EtlStream.Transforms;

namespace EtlStream.Tests.Formats;

/// <summary>Hostile headers (issue 22, issue 18): every field lands in its own, stated column, or the file fails naming why.</summary>
public sealed class CsvHeaderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private async Task<(string Input, string Db, ListLogger Log)> LoadIntoDuckDbAsync(string csv, string? specYaml = null)
    {
        var input = _dir.File("day.csv");
        await File.WriteAllTextAsync(input, csv);
        var db = _dir.File("w.duckdb");
        var log = new ListLogger();
        var pipeline = new LoadPipeline(new LoadOptions { LoadDate = new DateOnly(2026, 11, 24) }, log);
        await using var sink = SinkTarget.Create($"duckdb:{db}?table=t", "t");
        await pipeline.RunAsync(LocalFileSource.List(input), specYaml is null ? null : TableSpecReader.Read(specYaml, "spec.yaml"), sink, default);
        return (input, db, log);
    }

    private static List<string> Columns(string db) => DuckDbQuery.Describe(db, "t").ConvertAll(c => c.Name);

    [Fact]
    public void Empty_duplicate_and_case_colliding_names_get_unique_names_that_avoid_every_name_in_the_file()
    {
        var header = CsvHeader.Resolve([" id ", "", "column2", "id_2", "ID", "id"]);

        Assert.Equal(["id", "column2_2", "column2", "id_2", "ID_3", "id_4"], header.Names);
        Assert.Equal(["id", "", "column2", "id_2", "ID", "id"], header.Raw);
        Assert.Equal(
            [
                "column 2 (empty) → column2_2",
                "column 5 'ID' → ID_3 (same as column 1 'id' but for case)",
                "column 6 'id' → id_4 (duplicate of column 1)",
            ],
            header.Renamed);
    }

    [Fact]
    public async Task Duplicate_headers_without_a_spec_load_each_field_into_its_own_column_with_a_warning()
    {
        var (input, db, log) = await LoadIntoDuckDbAsync("id,id,name\n1,2,ann\n3,4,bob\n");

        Assert.Equal(["id", "id_2", "name"], Columns(db));
        Assert.Equal([["1", "2", "ann"], ["3", "4", "bob"]], DuckDbQuery.Rows(db, "SELECT id, id_2, name FROM t ORDER BY id"));
        Assert.Contains($"{input}: header names made unique: column 2 'id' → id_2 (duplicate of column 1)", log.Messages);
    }

    [Fact]
    public async Task Empty_headers_without_a_spec_are_named_by_their_position()
    {
        var (input, db, log) = await LoadIntoDuckDbAsync("id,,name,\n1,x,ann,y\n2,,bob,z\n");

        Assert.Equal(["id", "column2", "name", "column4"], Columns(db));
        Assert.Equal([["1", "x", "ann", "y"], ["2", null, "bob", "z"]], DuckDbQuery.Rows(db, "SELECT id, column2, name, column4 FROM t ORDER BY id"));
        Assert.Contains($"{input}: header names made unique: column 2 (empty) → column2, column 4 (empty) → column4", log.Messages);
    }

    [Theory]
    [InlineData("ID,id", "ID", "id_2")]
    [InlineData("a,A", "a", "A_2")] // issue 18: was DuckDB's raw catalog error
    public async Task Headers_differing_only_in_case_without_a_spec_load_into_two_columns(string header, string first, string second)
    {
        var (input, db, log) = await LoadIntoDuckDbAsync($"{header}\n1,2\n3,4\n");

        Assert.Equal([first, second], Columns(db));
        Assert.Equal([["1", "2"], ["3", "4"]], DuckDbQuery.Rows(db, $"SELECT \"{first}\", \"{second}\" FROM t ORDER BY 1"));
        var raw = header.Split(',');
        Assert.Contains($"{input}: header names made unique: column 2 '{raw[1]}' → {second} (same as column 1 '{raw[0]}' but for case)", log.Messages);
    }

    [Fact]
    public async Task A_spec_column_binds_the_header_written_exactly_so_before_one_differing_in_case()
    {
        const string Spec = "table: t\ncolumns:\n  - { name: id, type: int64 }\n  - { name: upper, type: int64, source: ID }\n";
        var (_, db, _) = await LoadIntoDuckDbAsync("ID,id\n10,1\n20,2\n", Spec);

        Assert.Equal([[1L, 10L], [2L, 20L]], DuckDbQuery.Rows(db, "SELECT id, upper FROM t ORDER BY id"));
    }

    [Fact]
    public async Task A_spec_column_matching_two_headers_only_by_case_fails_the_file_naming_both()
    {
        const string Spec = "table: t\ncolumns:\n  - { name: id, type: int64 }\n";
        var e = await Assert.ThrowsAsync<SourceSchemaException>(() => LoadIntoDuckDbAsync("Id,ID\n1,2\n", Spec));

        Assert.Equal($"{_dir.File("day.csv")}: 'id' matches column 1 'Id' and column 2 'ID' only by case (name one exactly with source:); it has: Id, ID", e.Message);
    }

    [Fact]
    public async Task A_spec_reads_the_first_of_repeated_headers_and_a_renamed_one_by_its_unique_name()
    {
        const string Spec = "table: t\ncolumns:\n  - { name: id, type: int64 }\n  - { name: second, type: int64, source: id_2 }\n  - { name: blank, type: string, source: column3 }\n";
        var (input, db, log) = await LoadIntoDuckDbAsync("id,id,\n1,2,x\n3,4,y\n", Spec);

        Assert.Equal([[1L, 2L, "x"], [3L, 4L, "y"]], DuckDbQuery.Rows(db, "SELECT id, second, blank FROM t ORDER BY id"));
        Assert.Contains($"{input}: header names made unique: column 2 'id' → id_2 (duplicate of column 1), column 3 (empty) → column3", log.Messages);
    }

    [Fact]
    public void Names_made_from_one_file_never_read_a_field_twice_in_a_file_whose_duplicates_differ_in_order()
    {
        // Without a spec, the first file names the columns (ID, id_2); the second has the same two headers swapped.
        var transform = new TableTransform(TableSpec.AllStrings("t", ["ID", "id"]), new DateOnly(2026, 11, 24));

        var e = Assert.Throws<SourceSchemaException>(() => transform.Bind("b.csv", ["id", "ID"]));

        Assert.Equal("b.csv: 'id_2' and 'ID' would both read column 2 'ID' (its duplicate headers differ in order or case from the first file's; give them distinct names); it has: id, ID", e.Message);
    }

    [Fact]
    public async Task Evolve_adds_a_header_differing_only_in_case_as_a_column_of_its_own()
    {
        const string Spec = "table: t\nschema_drift: evolve\ncolumns:\n  - { name: id, type: int64 }\n";
        var (_, db, _) = await LoadIntoDuckDbAsync("ID,id\n10,1\n20,2\n", Spec);

        Assert.Equal(["id", "ID_2"], Columns(db));
        Assert.Equal([[1L, "10"], [2L, "20"]], DuckDbQuery.Rows(db, "SELECT id, \"ID_2\" FROM t ORDER BY id"));
    }

    [Fact]
    public async Task A_header_with_control_characters_is_printed_escaped_by_the_cli()
    {
        var input = _dir.File("ctl.csv");
        await File.WriteAllTextAsync(input, "i\0d,na\u001bme\u202e\n1,x\n");
        await File.WriteAllTextAsync(_dir.File("spec.yaml"), "table: t\ncolumns:\n  - { name: id, type: int64 }\n");

        var (code, _, err) = await CliProcess.RunAsync(_dir.Path, null, "load", input, "--table", _dir.File("spec.yaml"), "--to", $"parquet:{_dir.File("out.parquet")}");

        Assert.Equal(1, code);
        Assert.Equal($"error: {input}: the header has no column for 'id'; it has: i\\u0000d, na\\u001Bme\\u202E\n", err);
        Assert.False(File.Exists(_dir.File("out.parquet")));
    }
}
