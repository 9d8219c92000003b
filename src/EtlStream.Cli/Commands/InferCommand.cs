using System.CommandLine;
using EtlStream.Sources;
using EtlStream.Tables.Inference;

namespace EtlStream.Cli.Commands;

/// <summary>
/// <c>etlstream infer &lt;file or glob&gt; [--out spec.yaml] [--sample-rows N] [--table-name n]</c>: a starter table
/// spec from the first file's first records, for a load with <c>--table</c>.
/// </summary>
internal static class InferCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("input") { Description = "A file, a folder or a glob (quote it: 'data/*.csv.gz'); the first file, sorted by path, is sampled. az:// and s3:// as for load." };
        var output = new Option<string?>("--out") { Description = "Write the spec to this file instead of standard output." };
        var sampleRows = new Option<int>("--sample-rows") { Description = "Records sampled from the start of the file.", DefaultValueFactory = _ => SpecInference.DefaultSampleRows };
        var tableName = new Option<string?>("--table-name") { Description = "The spec's table:; default the file's name in lower snake case without a trailing date." };
        var command = new Command("infer", "Write a starter table spec (types, NULLs, CSV dialect) inferred from a sample of a file.") { input, output, sampleRows, tableName };
        command.SetAction((parse, ct) => ExitCodes.RunAsync(async token =>
        {
            var rows = parse.GetValue(sampleRows);
            if (rows < 1)
            {
                throw new ArgumentException($"--sample-rows must be at least 1, got {rows}");
            }

            var files = await SourceStoreRegistry.ListInputAsync(parse.GetRequiredValue(input), Environment.GetEnvironmentVariable, token);
            var inferred = await FileInference.InferAsync(files[0], rows, parse.GetValue(tableName), token);
            var yaml = SpecYamlWriter.Write(inferred);
            if (parse.GetValue(output) is { } path)
            {
                await File.WriteAllTextAsync(path, yaml, token);
                Console.Error.WriteLine($"{ExitCodes.Printable(path)}: {inferred.Spec.Columns.Count} columns inferred from {inferred.RowsSampled:N0} rows of {ExitCodes.Printable(inferred.Entry)}");
            }
            else
            {
                Console.Write(yaml);
            }

            return ExitCodes.Success;
        }, ct));
        return command;
    }
}
