using System.IO.Compression;
using System.Text.Json;
using EtlStream.Tables;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Cli;

/// <summary>
/// <c>etlstream infer</c> end to end: the YAML it writes, that the spec loads its own file with no rejects and the
/// values DuckDB's own CSV reader gives, on public files (Tables/Inference/Data) and on each dialect it detects.
/// </summary>
public sealed class InferCliTests : IDisposable
{
    private const string Orders =
        "Order ID;Cost Total $;Order Date;Shipped;ZIP;Note\n" +
        "1;12.50;31-01-2024;true;00501;first\n" +
        "2;7;01-02-2024;false;02134;\n" +
        "3;1250.5;15-02-2024;TRUE;10001;\"a; b\"\n";

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private Task<(int ExitCode, string Out, string Err)> RunAsync(params string[] args) => CliTests.RunAsync(_dir.Path, args);

    private static string DataFile(string name) => Path.Combine(RepoPaths.Root, "tests", "EtlStream.Tests", "Tables", "Inference", "Data", name);

    [Fact]
    public async Task Infer_prints_the_spec_of_a_small_file()
    {
        await File.WriteAllTextAsync(_dir.File("orders.csv"), Orders);

        var (code, stdout, stderr) = await RunAsync("infer", "orders.csv");

        Assert.Equal((0, ""), (code, stderr));
        Assert.Equal(
            """
            # Inferred by etlstream infer from orders.csv: 3 rows sampled.
            # Types fit every sampled value; check them, and nullable, against what later files may hold.
            table: orders
            csv:
              delimiter: ;
            columns:
              - name: order_id
                type: int64
                source: Order ID
                nullable: false
              - name: cost_total
                type: decimal(18,2)
                source: Cost Total $
                nullable: false
              - name: order_date
                type: date
                source: Order Date
                format: dd-MM-yyyy
                nullable: false
              - name: shipped
                type: bool
                source: Shipped
                nullable: false
              - name: zip
                type: string # numbers with leading zeros (codes): kept as text
                source: ZIP
                nullable: false
              - name: note
                type: string
                source: Note

            """.ReplaceLineEndings("\n"),
            stdout);
    }

    [Fact]
    public async Task Out_writes_the_file_and_says_so_on_stderr()
    {
        await File.WriteAllTextAsync(_dir.File("orders.csv"), Orders);

        var (code, stdout, stderr) = await RunAsync("infer", "orders.csv", "--out", "spec.yaml", "--table-name", "fact_orders", "--sample-rows", "2");

        Assert.Equal((0, "", "spec.yaml: 6 columns inferred from 2 rows of orders.csv\n"), (code, stdout, stderr));
        var yaml = await File.ReadAllTextAsync(_dir.File("spec.yaml"));
        Assert.StartsWith("# Inferred by etlstream infer from orders.csv: 2 rows sampled.\n", yaml, StringComparison.Ordinal);
        Assert.Contains("\ntable: fact_orders\n", yaml, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("seattle-weather.csv.gz", 1461, "date:date,precipitation:decimal(18,1),temp_max:decimal(18,1),temp_min:decimal(18,1),wind:decimal(18,1),weather:string")]
    [InlineData("birdstrikes.csv.gz", 10000, "airport_name:string,aircraft_make_model:string,effect_amount_of_damage:string,flight_date:date,aircraft_airline_operator:string,origin_state:string,phase_of_flight:string,wildlife_size:string,wildlife_species:string,time_of_day:string,cost_other:int64,cost_repair:int64,cost_total:int64,speed_ias_in_knots:int64")]
    [InlineData("unemployment.tsv.gz", 3218, "id:int64,rate:decimal(18,3)")]
    [InlineData("github.csv.gz", 955, "time:timestamp,count:int64")]
    [InlineData("zipcodes-head.csv.gz", 1999, "zip_code:string,latitude:decimal(18,6),longitude:decimal(18,6),city:string,state:string,county:string")]
    public async Task The_spec_of_a_public_file_loads_it_with_no_rejects_and_the_values_duckdb_reads(string name, long rows, string columns)
    {
        File.Copy(DataFile(name), _dir.File(name));

        var spec = await RoundTripAsync(name, rows);

        Assert.Equal(columns, string.Join(",", spec.Columns.Select(c => $"{c.Name}:{c.Type}")));
    }

    [Theory]
    [InlineData("orders.csv", Orders, 3, "order_id:int64,cost_total:decimal(18,2),order_date:date,shipped:bool,zip:string,note:string")]
    [InlineData("nohead.csv", "1,2.5,x\n2,3.5,y\n3,,z\n", 3, "column1:int64,column2:decimal(18,1),column3:string")]
    [InlineData("pipes.txt", "a|b|when\n'x|y'|1|2024-01-31 10:00:00\n'z'|2|2024-02-01 00:00:01\n", 2, "a:string,b:int64,when:timestamp")]
    [InlineData("tabs.tsv", "name\tvalue\tok\nx\t1e3\tyes\ny\t-2.5\tno\n", 2, "name:string,value:float64,ok:bool")]
    [InlineData("odd.csv", "\"a: b\",#x,- y,[z],null,~,Id,ID\n1,2,3,4,5,6,7,8\n", 1, "a_b:int64,x:int64,y:int64,z:int64,null:int64,column6:int64,id:int64,id_2:int64")]
    [InlineData("blanks.csv", "id,amount\n1,\"\"\n2,\"  \"\n3,4.25\n", 3, "id:int64,amount:decimal(18,2)")]
    public async Task The_spec_of_each_dialect_loads_its_file_with_no_rejects_and_the_values_duckdb_reads(string name, string content, long rows, string columns)
    {
        await File.WriteAllTextAsync(_dir.File(name), content);

        var spec = await RoundTripAsync(name, rows);

        Assert.Equal(columns, string.Join(",", spec.Columns.Select(c => $"{c.Name}:{c.Type}")));
    }

    [Fact]
    public async Task Names_and_headers_yaml_would_read_as_null_bool_or_number_are_quoted()
    {
        await File.WriteAllTextAsync(_dir.File("odd.csv"), "null,~,yes,2024\n1,2,3,4\n");

        var (code, stdout, stderr) = await RunAsync("infer", "odd.csv");

        Assert.Equal((0, ""), (code, stderr));
        Assert.EndsWith(
            """
            columns:
              - name: 'null'
                type: int64
                nullable: false
              - name: column2
                type: int64
                source: '~'
                nullable: false
              - name: 'yes'
                type: int64
                nullable: false
              - name: c_2024
                type: int64
                source: '2024'
                nullable: false

            """.ReplaceLineEndings("\n"),
            stdout,
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_zip_is_read_as_the_load_reads_it_and_named_with_its_entry()
    {
        using (var zip = ZipFile.Open(_dir.File("orders.zip"), ZipArchiveMode.Create))
        {
            await using var entry = zip.CreateEntry("orders.csv").Open();
            await entry.WriteAsync(System.Text.Encoding.UTF8.GetBytes(Orders));
        }

        var (code, stdout, stderr) = await RunAsync("infer", "orders.zip");

        Assert.Equal((0, ""), (code, stderr));
        Assert.StartsWith("# Inferred by etlstream infer from orders.zip (entry orders.zip!orders.csv): 3 rows sampled.\n", stdout, StringComparison.Ordinal);
        Assert.Contains("\ntable: orders\n", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_glob_samples_the_first_file_by_path()
    {
        Directory.CreateDirectory(_dir.File("data"));
        await File.WriteAllTextAsync(_dir.File("data/orders_2024-02-01.csv"), "id\nx\n");
        await File.WriteAllTextAsync(_dir.File("data/orders_2024-01-31.csv"), "id\n1\n");

        var (code, stdout, stderr) = await RunAsync("infer", "data/*.csv");

        Assert.Equal((0, ""), (code, stderr));
        Assert.Matches(@"^# Inferred by etlstream infer from \S*/data/orders_2024-01-31\.csv: 1 row sampled\.\n", stdout);
        Assert.EndsWith("table: orders\ncolumns:\n  - name: id\n    type: int64\n    nullable: false\n", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_file_name_with_a_line_break_stays_inside_the_comment()
    {
        await File.WriteAllTextAsync(_dir.File("a\nb.csv"), "id\n1\n");

        var (code, stdout, stderr) = await RunAsync("infer", "a\nb.csv", "--out", "spec.yaml");

        Assert.Equal((0, ""), (code, stdout));
        Assert.StartsWith("# Inferred by etlstream infer from a\\u000Ab.csv: 1 row sampled.\n", await File.ReadAllTextAsync(_dir.File("spec.yaml")), StringComparison.Ordinal);
        Assert.Equal("a_b", TableSpecReader.ReadFile(_dir.File("spec.yaml")).Name);
    }

    [Fact]
    public async Task A_missing_file_exits_2_naming_it()
    {
        var missing = await RunAsync("infer", "missing.csv");
        var glob = await RunAsync("infer", "data/*.csv.gz");

        Assert.Equal((2, "", "error: missing.csv: no such file or folder\n"), missing);
        Assert.Equal((2, "", "error: data/*.csv.gz: matches no files\n"), glob);
    }

    [Fact]
    public async Task An_empty_file_fails_saying_there_is_nothing_to_infer_from()
    {
        await File.WriteAllBytesAsync(_dir.File("empty.csv"), []);
        await using (var gz = new GZipStream(File.Create(_dir.File("empty.csv.gz")), CompressionLevel.Optimal))
        {
        }

        var plain = await RunAsync("infer", "empty.csv", "--out", "spec.yaml");
        var gzip = await RunAsync("infer", "empty.csv.gz");

        Assert.Equal((1, "", "error: empty.csv: the file is empty: there is nothing to infer a spec from\n"), plain);
        Assert.Equal((1, "", "error: empty.csv.gz: the file is empty: there is nothing to infer a spec from\n"), gzip);
        Assert.False(File.Exists(_dir.File("spec.yaml")));
    }

    [Fact]
    public async Task A_header_only_file_gives_nullable_strings_and_says_why()
    {
        await File.WriteAllTextAsync(_dir.File("h.csv"), "a,b\n");

        var (code, stdout, stderr) = await RunAsync("infer", "h.csv");

        Assert.Equal((0, ""), (code, stderr));
        Assert.Equal(
            """
            # Inferred by etlstream infer from h.csv: 0 rows sampled.
            # Types fit every sampled value; check them, and nullable, against what later files may hold.
            # the first row is read as the header: the file has no other row to compare it with
            # no rows below the header: every column is a nullable string
            table: h
            columns:
              - name: a
                type: string # no values in the sample
              - name: b
                type: string # no values in the sample

            """.ReplaceLineEndings("\n"),
            stdout);
    }

    [Fact]
    public async Task A_ragged_file_fails_with_the_loads_own_error()
    {
        await File.WriteAllTextAsync(_dir.File("bad.csv"), "a,b\n1,2\n3,4,5\n");

        var (code, stdout, stderr) = await RunAsync("infer", "bad.csv");

        Assert.Equal((1, "", "error: bad.csv:3:3: expected 2 fields, found more\n"), (code, stdout, stderr));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    public async Task Sample_rows_below_one_exits_2(string rows)
    {
        await File.WriteAllTextAsync(_dir.File("orders.csv"), Orders);

        Assert.Equal((2, "", $"error: --sample-rows must be at least 1, got {rows}\n"), await RunAsync("infer", "orders.csv", "--sample-rows", rows));
    }

    /// <summary>
    /// Infers <paramref name="name"/>'s spec, loads the file with it into Parquet (no rejects, every row) and compares
    /// every value with DuckDB's read_csv of the same file, cast by DuckDB to the spec's types.
    /// </summary>
    private async Task<TableSpec> RoundTripAsync(string name, long rows)
    {
        var infer = await RunAsync("infer", name, "--out", "spec.yaml");
        Assert.Equal(0, infer.ExitCode);
        var load = await RunAsync("load", name, "--table", "spec.yaml", "--to", "parquet:out.parquet", "--no-progress", "--output", "json");
        Assert.True(load.ExitCode == 0, load.Err + load.Out);
        using var report = JsonDocument.Parse(load.Out);
        Assert.Equal((rows, rows, 0L), (report.RootElement.GetProperty("rowsRead").GetInt64(), report.RootElement.GetProperty("rowsLoaded").GetInt64(), report.RootElement.GetProperty("rowsRejected").GetInt64()));

        var spec = TableSpecReader.ReadFile(_dir.File("spec.yaml"));
        var csv = spec.Csv;
        var names = string.Join(", ", spec.Columns.Select(c => DuckDbQuery.Literal(c.SourceName)));
        var source = $"read_csv({DuckDbQuery.Literal(_dir.File(name))}, all_varchar = true, header = {(csv.HasHeader ? "true" : "false")}, " +
            $"delim = {DuckDbQuery.Literal(((char)csv.Delimiter).ToString())}, quote = {DuckDbQuery.Literal(((char)csv.Quote).ToString())}, names = [{names}])";
        var expected = $"SELECT {string.Join(", ", spec.Columns.Select(DuckDbCast))} FROM {source}";
        var actual = $"SELECT * FROM read_parquet({DuckDbQuery.Literal(_dir.File("out.parquet"))})";
        Assert.Equal(rows, DuckDbQuery.Scalar(null, $"SELECT count(*) FROM ({expected})"));
        Assert.Equal(0L, DuckDbQuery.Scalar(null, $"SELECT count(*) FROM (({actual}) EXCEPT ALL ({expected}))"));
        Assert.Equal(0L, DuckDbQuery.Scalar(null, $"SELECT count(*) FROM (({expected}) EXCEPT ALL ({actual}))"));
        return spec;
    }

    /// <summary>The column as DuckDB reads it from the CSV's text: its own casts and strptime, not ours.</summary>
    private static string DuckDbCast(ColumnSpec c)
    {
        var x = $"\"{c.SourceName.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
        if (c.Trim)
        {
            x = $"trim({x})";
        }

        if (c.NullTokens.Count > 0)
        {
            x = $"nullif({x}, '')";
        }

        return c.Type.Kind switch
        {
            ColumnKind.Int64 => $"CAST({x} AS BIGINT)",
            ColumnKind.Decimal => $"CAST({x} AS DECIMAL({c.Type.Precision},{c.Type.Scale}))",
            ColumnKind.Float64 => $"CAST({x} AS DOUBLE)",
            ColumnKind.Bool => $"CAST({x} AS BOOLEAN)",
            ColumnKind.Date => $"CAST(strptime({x}, {DuckDbQuery.Literal(Strftime(c.Format!))}) AS DATE)",
            ColumnKind.Timestamp => $"strptime({x}, {DuckDbQuery.Literal(Strftime(c.Format!))})",
            _ => x,
        };
    }

    private static string Strftime(string pattern) => pattern
        .Replace("yyyy", "%Y", StringComparison.Ordinal).Replace("MM", "%m", StringComparison.Ordinal).Replace("dd", "%d", StringComparison.Ordinal)
        .Replace("HH", "%H", StringComparison.Ordinal).Replace("mm", "%M", StringComparison.Ordinal).Replace("ss", "%S", StringComparison.Ordinal);
}
