using System.CommandLine;
using System.Runtime.InteropServices;
using EtlStream.Cli.Commands;

var root = new RootCommand("EtlStream: streaming ETL from compressed CSV files into analytic databases, in constant memory.")
{
    LoadCommand.Create(),
    GenerateCommand.Create(),
    InferCommand.Create(),
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

// SIGINT (Ctrl+C) and SIGTERM (kill, systemd, Kubernetes) both cancel the run, which then stops every stage, commits
// nothing and exits 130. System.CommandLine's own handler would end the process 2 s after SIGTERM whatever was still
// running (a rollback, a temporary file); a second signal still ends it at once.
using var cancellation = new CancellationTokenSource();
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);
return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, cancellation.Token);

void Cancel(PosixSignalContext context)
{
    context.Cancel = !cancellation.IsCancellationRequested;
    cancellation.Cancel();
}
