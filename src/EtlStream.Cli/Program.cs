using System.CommandLine;
using EtlStream.Cli.Commands;

var root = new RootCommand("EtlStream: streaming ETL from compressed CSV files into analytic databases, in constant memory.")
{
    LoadCommand.Create(),
    GenerateCommand.Create(),
    DemoCommand.Create(),
};
foreach (var command in TenantCommands.Create())
{
    root.Add(command);
}

root.Options.Add(CliLogging.Format);
root.Options.Add(CliLogging.Verbose);

var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    foreach (var error in parsed.Errors)
    {
        // An argument is echoed in the message: escaped like every other message, so none reaches the terminal raw.
        Console.Error.WriteLine($"error: {ExitCodes.Printable(error.Message)}");
    }

    Console.Error.WriteLine("Run 'etlstream --help' for usage.");
    return ExitCodes.Usage;
}

return await parsed.InvokeAsync();
