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
        var invoices = new Command("invoices", "The standard job's fact_invoice_secondary CSV (see STANDARD_JOB.md).") { rows, seed, output };
        invoices.SetAction((parse, ct) => ExitCodes.RunAsync(async token =>
        {
            var n = parse.GetValue(rows);
            if (n < 0)
            {
                throw new ArgumentException("--rows must be 0 or more");
            }

            await InvoiceGenerator.WriteFileAsync(parse.GetRequiredValue(output), n, parse.GetValue(seed), token);
            return ExitCodes.Success;
        }, ct));
        return new Command("generate", "Generate test data.") { invoices };
    }
}
