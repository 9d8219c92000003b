using System.CommandLine;
using System.Globalization;
using DuckDB.NET.Data;
using EtlStream.Generation;
using EtlStream.Pipeline;

namespace EtlStream.Cli.Commands;

/// <summary>
/// <c>etlstream demo</c>: a small tenant's week of dated files (gzip and zip) loaded into the embedded default,
/// DuckDB, and a Parquet lake beside it; then one query. Needs no server; safe to run again (full refresh).
/// </summary>
internal static class DemoCommand
{
    private const string Table = "fact_invoice_secondary";

    public static Command Create()
    {
        var folder = new Option<string>("--dir") { Description = "Where the demo writes its files.", DefaultValueFactory = _ => Path.Combine("data", "demo") };
        var rows = new Option<int>("--rows") { Description = "Rows per daily file.", DefaultValueFactory = _ => 20_000 };
        var command = new Command("demo", "Generate a small tenant data set and load it into data/demo/warehouse.duckdb and a Parquet file.") { folder, rows };
        command.SetAction((parse, ct) => ExitCodes.RunAsync(token => RunAsync(parse.GetRequiredValue(folder), parse.GetValue(rows), token), ct));
        return command;
    }

    private static async Task<int> RunAsync(string root, int rowsPerFile, CancellationToken token)
    {
        var input = Path.Combine(root, "incoming");
        if (Directory.Exists(input))
        {
            Directory.Delete(input, recursive: true);
        }

        var days = new[] { "2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23" };
        for (var i = 0; i < days.Length; i++)
        {
            // Tenants upload gzip mostly, and now and then a zip: the demo has both.
            var extension = i == days.Length - 1 ? "csv.zip" : "csv.gz";
            await InvoiceGenerator.WriteFileAsync(Path.Combine(input, $"invoices_{days[i]}.{extension}"), rowsPerFile, seed: 1000 + i, token);
        }

        var spec = WriteSpec(root);
        var warehouse = Path.Combine(root, "warehouse.duckdb");
        var options = new LoadOptions { LoadDate = new DateOnly(2026, 11, 24) };
        var (result, table, _) = await LoadCommand.LoadAsync(input, spec, $"duckdb:{warehouse}?table={Table}&mode=replace", options, Path.Combine(root, "report.json"), token);
        Console.WriteLine($"warehouse: {LoadCommand.Summary(result, table)}");
        var lake = Path.Combine(root, "lake", $"{Table}.parquet");
        var (lakeResult, lakeTable, _) = await LoadCommand.LoadAsync(input, spec, $"parquet:{lake}", options, null, token);
        Console.WriteLine($"lake:      {LoadCommand.Summary(lakeResult, lakeTable)}");
        Console.WriteLine();
        Console.WriteLine($"Gross sales by region in {warehouse} (DuckDB):");
        PrintQuery(warehouse, $"""
            SELECT region, count(*) AS invoices, sum(qty) AS qty, sum(gross_amount) AS gross_amount
            FROM {Table} GROUP BY region ORDER BY gross_amount DESC
            """);
        Console.WriteLine();
        Console.WriteLine($"Next: query it yourself with DuckDB, or load your own files: etlstream load <files> --table <spec.yaml> --to duckdb:<file>");
        Console.WriteLine("      (scripts/install.sh puts etlstream on your PATH; etlstream infer <file> writes a starter spec)");
        return ExitCodes.Success;
    }

    /// <summary>The standard job's spec ships inside the CLI so the demo runs from any folder.</summary>
    private static string WriteSpec(string root)
    {
        var path = Path.Combine(root, "invoices.yaml");
        using var resource = typeof(DemoCommand).Assembly.GetManifestResourceStream("invoices.yaml")
            ?? throw new InvalidOperationException("the standard job's table spec is missing from the build");
        Directory.CreateDirectory(root);
        using var file = File.Create(path);
        resource.CopyTo(file);
        return path;
    }

    private static void PrintQuery(string database, string sql)
    {
        // The builder quotes the path as one value: a ';' or '=' in --dir is a character of the folder name, not an option.
        var builder = new DuckDBConnectionStringBuilder { ConnectionString = EtlStream.Sinks.DuckDb.DuckDbSinkOptions.ConnectionString(database) };
        builder["ACCESS_MODE"] = "READ_ONLY";
        using var connection = new DuckDBConnection(builder.ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var widths = new[] { 12, 10, 12, 18 };
        var header = string.Concat(Enumerable.Range(0, reader.FieldCount).Select(i => reader.GetName(i).PadLeft(widths[i])));
        Console.WriteLine(header);
        while (reader.Read())
        {
            Console.WriteLine(string.Concat(Enumerable.Range(0, reader.FieldCount).Select(i =>
                Convert.ToString(reader.GetValue(i), CultureInfo.InvariantCulture)!.PadLeft(widths[i]))));
        }
    }
}
