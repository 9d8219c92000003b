using System.CommandLine;
using EtlStream.Generation;

namespace EtlStream.Cli.Commands;

/// <summary><c>etlstream generate invoices --rows N --seed S --out &lt;file.csv.gz&gt;</c> (pinned): the standard job's input.</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var rows = new Option<long>("--rows") { Description = "Rows to generate.", Required = true };
        var seed = new Option<int>("--seed") { Description = "Random seed: the same seed gives the same bytes.", DefaultValueFactory = _ => 42 };
        var output = new Option<string>("--out") { Description = "Output file; .gz, .zst, .bz2 or .zip compress it.", Required = true };
        var format = new Option<string>("--format") { Description = "csv (default) or jsonl: the same rows as one nested JSON object per line.", DefaultValueFactory = _ => "csv" };
        format.AcceptOnlyFromAmong("csv", "jsonl");
        var invoices = new Command("invoices", "The standard job's fact_invoice_secondary CSV or JSON Lines (see STANDARD_JOB.md).") { rows, seed, output, format };
        invoices.SetAction((parse, ct) => ExitCodes.RunAsync(async token =>
        {
            var n = parse.GetValue(rows);
            if (n < 0)
            {
                throw new ArgumentException("--rows must be 0 or more");
            }

            await InvoiceGenerator.WriteFileAsync(parse.GetRequiredValue(output), n, parse.GetValue(seed), token, jsonLines: parse.GetValue(format) == "jsonl");
            return ExitCodes.Success;
        }, ct));
        return new Command("generate", "Generate test data.") { invoices, Tenant() };
    }

    /// <summary><c>etlstream generate tenant --tenant &lt;id&gt; --date &lt;d&gt;</c>: one day's files in the tenant's source folder, to try its jobs.</summary>
    private static Command Tenant()
    {
        var roots = new ConfigRootOptions();
        var tenant = new Option<string>("--tenant") { Description = "Tenant id.", Required = true };
        var date = new Option<string>("--date") { Description = "The day (yyyy-MM-dd) the files are named for.", Required = true };
        var rows = new Option<long>("--rows") { Description = "Invoice rows.", DefaultValueFactory = _ => 20_000 };
        var seed = new Option<int>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 42 };
        var command = new Command("tenant", "One day's invoices and dimension snapshots in a tenant's source folder.") { tenant, date, rows, seed };
        roots.AddTo(command);
        command.SetAction((parse, ct) => ExitCodes.RunAsync(async token =>
        {
            var t = EtlStream.Tenancy.TenantConfigReader.Read(roots.Find(parse).Configs, parse.GetRequiredValue(tenant));
            if (!DateOnly.TryParseExact(parse.GetRequiredValue(date), "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var day))
            {
                throw new ArgumentException("--date must be yyyy-MM-dd");
            }

            if (!t.Source.Provider.OnThisMachine)
            {
                throw new ArgumentException($"generate tenant writes a local folder, and tenant '{t.Id}' reads from {t.Source.Kind} ({t.Source.Location}): upload generated files there yourself");
            }

            var counts = await TenantDataGenerator.WriteDayAsync(t.Source.Path, day, parse.GetValue(seed), parse.GetValue(rows), token);
            Console.WriteLine($"{t.Id}: {string.Join(", ", counts.Select(c => $"{c.Key} {c.Value:N0}"))} rows in {t.Source.Path}");
            return ExitCodes.Success;
        }, ct));
        return command;
    }
}
