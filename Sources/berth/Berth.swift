import ArgumentParser

/// `berth`: one executable, one subcommand per role.
struct Berth: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berth",
        abstract: "A control plane for fleets of build and VM hosts, speaking the Anka Build Cloud API.",
        subcommands: [
            Dev.self, ControlPlaneCommand.self, GatewayCommand.self, NodeCommand.self, CACommand.self,
            TokenCommand.self, SimCommand.self, VMCommand.self, ConfigCommand.self, BackupCommand.self,
            RestoreCommand.self, GroupCommand.self, KeyCommand.self, TemplateCommand.self, EventsCommand.self,
        ]
    )
}
