Feature: Account activity
  In order to notice when someone else is at my account, and act on it
  As a user
  I want to see what happened to my account: logins, failed attempts, ended sessions

  Background:
    Given Ada has logged in

  Scenario: Ada sees the failed attempts on her account and the session she ended
    Given she has also logged in on another device
    And a stranger has tried her password 3 times
    And she has ended her other device's session
    When she reads her account activity
    Then she sees 3 failed attempts on her account, as one entry
    And she sees the session she ended
    And she sees her logins

  Scenario: An email nobody registered leaves no trace in anyone's activity
    Given someone has tried an email nobody registered
    When she reads her account activity
    Then she sees only her login

  Scenario: Her activity is hers alone
    Given Bob has logged in
    And a stranger has tried Bob's password 2 times
    When Ada reads her account activity
    Then she sees only her login

  Scenario: Ada sees her second factor added and used, and the wrong codes a stranger tried
    Given Ada has logged in with a code from her app
    And a stranger who knows her password has tried 2 wrong codes
    When she reads her account activity
    Then she sees her authenticator app added and used to log in
    And she sees the 2 wrong codes tried on her account
